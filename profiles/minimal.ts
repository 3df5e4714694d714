import { defineProfile } from 'ib-native';

/**
 * minimal: the smallest image that boots to a login prompt with cloud-init, as a live ISO and
 * as a QCOW2. Used by the fast end-to-end tests (with --distro debian-bookworm).
 * No root password, SSH host keys made at first boot, serial console on ttyS0.
 */
export default defineProfile({
  name: 'minimal',
  distro: 'ubuntu-focal',
  formats: ['iso', 'qcow2'],
  packages: ['cloud-init', 'openssh-server', 'ifupdown', 'isc-dhcp-client', 'sudo', 'less'],
  blockedPackages: ['unattended-upgrades'],
  hostname: 'localhost',
  grub: {
    timeout: 1,
    cmdline: ['console=tty0', 'console=ttyS0,115200n8'],
  },
  cloudInit: { maskSshSocket: false },
});
