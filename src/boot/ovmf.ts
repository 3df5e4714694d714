/**
 * Where Debian and Ubuntu put the Secure Boot build of OVMF, best first: the code that enforces
 * Secure Boot (it needs SMM) and a variables template with Microsoft's keys enrolled and Secure Boot
 * on. Pure data, no imports: `boot --secure-boot` (src/boot/qemu.ts) looks them up and doctor's
 * tool table (native-tools/tools.ts) checks them. Both come from the package `ovmf`.
 */
export const SECURE_BOOT_OVMF: readonly { readonly code: string; readonly vars: string }[] = [
  // Debian 12, Ubuntu 22.04 and later
  { code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' },
  // older Ubuntu and Debian: the 2 MB build
  { code: '/usr/share/OVMF/OVMF_CODE.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS.ms.fd' },
];

/** The package that ships them on Debian and Ubuntu alike. */
export const OVMF_PACKAGE = 'ovmf';
