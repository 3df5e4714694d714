import { debianBookworm } from './debian.ts';
import type { Distro } from './types.ts';

/** Ubuntu 20.04: Debian's shape with Ubuntu's archive, components, kernel and an older apt. */
export const ubuntuFocal = {
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
  signedChain: {
    packages: ['shim-signed', 'grub-efi-amd64-signed'],
    vendor: 'ubuntu',
    // the .deb ships .latest and .previous; postinst links shimx64.efi.signed to one by an alternative
    shim: '/usr/lib/shim/shimx64.efi.signed.latest',
    // signed by Canonical despite the name
    mokManager: '/usr/lib/shim/mmx64.efi',
    grub: '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed',
    grubCd: '/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed',
    // Ubuntu builds its signed GRUB without the serial module: the menu is on the firmware's console
    grubSerial: false,
    unsignedKernel: /^linux-image-unsigned-/,
  },
} as const satisfies Distro;

/** Ubuntu 22.04: focal on the next suites, with apt 2.4 (armored keys in signed-by). */
export const ubuntuJammy = {
  ...ubuntuFocal,
  name: 'ubuntu-jammy',
  suite: 'jammy',
  updatesSuites: ['jammy-updates'],
  security: { mirror: 'http://security.ubuntu.com/ubuntu', suite: 'jammy-security' },
  aptReadsArmoredKeys: true,
} as const satisfies Distro;

/**
 * Ubuntu 24.04: jammy on the next suites. Debian 12's debootstrap has no `noble` script, so
 * it is given Ubuntu's generic one (every Ubuntu suite's script is a link to `gutsy`).
 */
export const ubuntuNoble = {
  ...ubuntuJammy,
  name: 'ubuntu-noble',
  suite: 'noble',
  updatesSuites: ['noble-updates'],
  security: { mirror: 'http://security.ubuntu.com/ubuntu', suite: 'noble-security' },
  // systemd-resolved left the systemd package in 23.04
  resolvedPackages: ['systemd-resolved'],
  debootstrapScript: 'gutsy',
  // noble's signed GRUB (2.12) has the serial terminal built in again
  signedChain: { ...ubuntuJammy.signedChain, grubSerial: true },
} as const satisfies Distro;
