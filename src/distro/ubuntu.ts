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
    'install the ubuntu-keyring package (Ubuntu hosts: apt-get install ubuntu-keyring; Debian hosts: download ubuntu-keyring_*.deb from an Ubuntu mirror and `dpkg -i` it), or copy ubuntu-archive-keyring.gpg from an Ubuntu machine to /usr/share/keyrings/',
  kernelPackages: ['linux-image-generic'],
  headersPackages: ['linux-headers-generic'],
  resolvedPackages: [],
  aptReadsArmoredKeys: false,
};
