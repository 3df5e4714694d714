import { debianBookworm } from './debian.ts';
import type { Distro } from './types.ts';

/** Ubuntu 20.04: Debian's shape with Ubuntu's archive, components, kernel and an older apt. */
export const ubuntuFocal: Distro = {
  ...debianBookworm,
  name: 'ubuntu-focal',
  family: 'ubuntu',
  suite: 'focal',
  mirror: 'http://archive.ubuntu.com/ubuntu',
  components: ['main', 'restricted', 'universe'],
  updatesSuites: ['focal-updates'],
  security: { mirror: 'http://security.ubuntu.com/ubuntu', suite: 'focal-security' },
  keyring: '/usr/share/keyrings/ubuntu-archive-keyring.gpg',
  keyringHint:
    'ib-native fetches it from the archive when the host lacks it (check the network or give --proxy); or install the ubuntu-keyring package (Ubuntu hosts: apt-get install ubuntu-keyring), or copy ubuntu-archive-keyring.gpg from an Ubuntu machine to /usr/share/keyrings/',
  archiveKeyring: {
    package: 'ubuntu-keyring',
    component: 'main',
    file: 'usr/share/keyrings/ubuntu-archive-keyring.gpg',
    fingerprints: [
      // Ubuntu Archive Automatic Signing Key (2012) <ftpmaster@ubuntu.com>
      '790BC7277767219C42C86F933B4FE6ACC0B21F32',
      // Ubuntu Archive Automatic Signing Key (2018) <ftpmaster@ubuntu.com>
      'F6ECB3762474EDA9D21B7022871920D1991BC93C',
    ],
  },
  kernelPackages: ['linux-image-generic'],
  headersPackages: ['linux-headers-generic'],
  resolvedPackages: [],
  aptReadsArmoredKeys: false,
};
