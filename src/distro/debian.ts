import type { Distro } from './types.ts';

export const debianBookworm: Distro = {
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
};
