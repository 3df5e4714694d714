/**
 * base: the defaults of Airship image-builder's `osconfig` role and root filesystem, ported.
 *
 * Every other shipped profile extends it. It sets what every node image gets: the original
 * package list (the kernel comes from the distro), the blocked packages, kernel modules, sysctl,
 * limits, grub and kdump settings, cloud-init, locale, banners, no background apt, systemd-resolved,
 * systemd/networkd, NIC naming, AppArmor, and the QCOW2 partition layout (19G, root first for
 * Ironic's config-drive injection). Extra apt repos live in worker/control-plane, not here.
 *
 * Deliberate differences from the original, each a fix:
 * - the serial console comes last on the kernel command line, so it is /dev/console and boot
 *   messages (and emergency shells) reach the serial line the acceptance test reads;
 * - GRUB_SERIAL_COMMAND says --speed=115200 (the original's --speed=ttyS0,115200n8 is not a speed);
 * - no default root password (the original set one for debugging); finalize locks an empty one.
 */
import { DEFAULT_PARTITIONS, defineProfile } from 'ib-native';

export default defineProfile({
  name: 'base',
  description: 'Airship image-builder osconfig defaults (Ubuntu 20.04)',
  distro: 'ubuntu-focal',
  // the original's list; the kernel comes from the distro
  packages: `
    apparmor apt-file apt-utils apt-transport-https arptables bash-completion bc bridge-utils chrony
    cloud-init conntrack curl dbus dnsutils dosfstools e2fsprogs ebtables efivar ethtool file gawk
    gettext-base gnupg2 grub2 grub-efi-amd64-signed ifenslave isc-dhcp-client iproute2 ipset
    iptables iputils-arping iputils-ping iputils-tracepath ipvsadm kdump-tools keepalived kmod less
    live-boot locales locales-all logrotate lsb-release lsof lvm2 man-db mawk mbr netplan.io
    net-tools networkd-dispatcher openssh-server passwd python3 python3-apt rsyslog socat systemd
    systemd-sysv strace sudo tcpdump traceroute vim vlan wget xfsprogs xz-utils
  `
    .trim()
    .split(/\s+/),
  blockedPackages: ['unattended-upgrades', 'systemd-timesyncd'],
  kernel: {
    modules: {
      load: ['8021q', 'bonding', 'ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'br_netfilter'].map(
        (name) => ({ name }),
      ),
      blacklist: ['krbd'],
    },
  },
  sysctl: {
    'net.bridge.bridge-nf-call-ip6tables': 1,
    'net.bridge.bridge-nf-call-iptables': 1,
    'net.nf_conntrack_max': 1048576,
    'kernel.panic': 3,
    'kernel.pid_max': 4194303,
    'net.ipv4.conf.default.arp_accept': 1,
    'net.ipv4.conf.all.arp_accept': 1,
    'net.ipv4.tcp_keepalive_intvl': 15,
    'net.ipv4.tcp_keepalive_time': 30,
    'net.ipv4.tcp_keepalive_probes': 8,
    'net.ipv4.tcp_retries2': 5,
    'net.ipv4.neigh.default.gc_thresh1': 4096,
    'net.ipv4.neigh.default.gc_thresh3': 16384,
    'net.ipv4.conf.default.rp_filter': 2,
    'net.ipv6.conf.all.accept_ra': 0,
    'net.ipv6.conf.default.accept_ra': 0,
    'net.ipv6.conf.lo.accept_ra': 0,
    'net.ipv6.conf.lo.disable_ipv6': 0,
    'net.netfilter.nf_conntrack_acct': 1,
    'fs.suid_dumpable': 2,
    'fs.inotify.max_user_watches': 1048576,
    'fs.protected_hardlinks': 1,
    'fs.protected_symlinks': 1,
    'kernel.sysrq': 8,
  },
  limits: [
    { name: 'core_dump', domain: '0:', type: 'hard', item: 'core', value: 0 },
    { name: 'nofile-root-soft', domain: 'root', type: 'soft', item: 'nofile', value: 65536 },
    { name: 'nofile-root-hard', domain: 'root', type: 'hard', item: 'nofile', value: 1048576 },
    { name: 'nofile-all-soft', domain: '*', type: 'soft', item: 'nofile', value: 65536 },
    { name: 'nofile-all-hard', domain: '*', type: 'hard', item: 'nofile', value: 1048576 },
  ],
  grub: {
    timeout: 10,
    terminal: 'serial console',
    serialCommand: 'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1',
    cmdline: [
      'console=tty0',
      'console=ttyS0,115200n8',
      'amd_iommu=on',
      'intel_iommu=on',
      'iommu=pt',
      'cgroup_disable=hugetlb',
      'dpdk-socket-mem=4096,4096',
      'rcu_nocb_poll=true',
    ],
  },
  kdump: { enabled: true, crashkernel: '768M' },
  cloudInit: { renderers: ['netplan', 'eni', 'sysconfig'], maskSshSocket: true, machineIdSetup: true },
  locale: 'C',
  hostname: 'localhost',
  banners: {
    issue: 'Airship Node \\l: \\n.\\o\nKernel: \\s \\m \\r \\v\nIP address: \\4\n',
    motd: [
      '#!/bin/sh',
      '. /etc/os-release',
      'printf "Airship Node, based on: %s (%s %s %s)\\n" "$PRETTY_NAME" "$(uname -o)" "$(uname -r)" "$(uname -m)"',
      '',
    ].join('\n'),
  },
  unattendedUpgrades: { disabled: true },
  resolved: { startLimitBurst: 0 },
  systemdBase: { networkd: true, networkdDispatcher: true },
  nicNaming: {
    namePolicy: 'kernel database onboard path slot',
    alternativeNamesPolicy: 'database onboard path slot',
    macAddressPolicy: 'persistent',
  },
  apparmor: { enabled: true },
  disk: {
    size: '19G',
    // GPT numbering follows this order: the root must be partition 1 for Ironic's config drive.
    partitions: DEFAULT_PARTITIONS,
  },
});
