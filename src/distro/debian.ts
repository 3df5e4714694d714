import type { Distro } from './types.ts';

/** Debian 12. */
export const debianBookworm = {
  name: 'debian-bookworm',
  family: 'debian',
  suite: 'bookworm',
  mirror: 'http://deb.debian.org/debian',
  components: ['main'],
  updatesSuites: ['bookworm-updates'],
  security: { mirror: 'http://deb.debian.org/debian-security', suite: 'bookworm-security' },
  keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
  keyringHint: 'apt-get install debian-archive-keyring',
  kernelPackages: ['linux-image-amd64'],
  headersPackages: ['linux-headers-amd64'],
  bootPackages: ['live-boot', 'systemd-sysv', 'initramfs-tools', 'zstd'],
  resolvedPackages: ['systemd-resolved'],
  aptReadsArmoredKeys: true,
  arch: 'amd64',
  signedChain: {
    // shim-signed depends on shim-helpers-amd64-signed (MokManager) and grub-efi-amd64-bin
    packages: ['shim-signed', 'grub-efi-amd64-signed'],
    vendor: 'debian',
    shim: '/usr/lib/shim/shimx64.efi.signed',
    mokManager: '/usr/lib/shim/mmx64.efi.signed',
    grub: '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed',
    grubCd: '/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed',
    grubSerial: true,
    unsignedKernel: /^linux-image-.*-unsigned$/,
  },
} as const satisfies Distro;

/**
 * Debian 13: bookworm's shape on the next suites. Its archive keys are in Debian 12's
 * debian-archive-keyring since 2023.3+deb12u1; an older host keyring fails the bootstrap's check.
 */
export const debianTrixie = {
  ...debianBookworm,
  name: 'debian-trixie',
  suite: 'trixie',
  updatesSuites: ['trixie-updates'],
  security: { mirror: 'http://deb.debian.org/debian-security', suite: 'trixie-security' },
  keyringHint: 'apt-get install debian-archive-keyring (2023.3+deb12u1 or newer holds the trixie keys)',
} as const satisfies Distro;
