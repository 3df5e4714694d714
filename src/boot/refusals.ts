/**
 * Console lines after which a boot cannot reach the login prompt: the firmware gave up. The console
 * watcher (console.ts, `failOn`) stops at the first one instead of waiting for its timeout.
 */

/** Why a boot failed, when a line of the console told it (`BootFailedError.reason`). */
export type BootFailureReason = 'secure-boot-rejected' | 'no-bootable-device';

/** A console line after which the boot cannot reach the login prompt: the watch fails at once. */
export interface ConsoleFailure {
  reason: BootFailureReason;
  /** Matched against the cleaned console; the line holding the match is reported. */
  pattern: RegExp;
  /** What went wrong, the error's first line. */
  says: string;
  hint: string;
}

/**
 * OVMF refusing to boot under Secure Boot, as its serial console says it (Debian 12's ovmf
 * 2022.11, an unsigned grub as \EFI\BOOT\BOOTX64.EFI on a virtio disk, TCG):
 *   BdsDxe: failed to load Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied
 * 5 s after start. A device without a loader says `Not Found` instead; the firmware then tries the
 * network (PXE, HTTP over IPv4 and IPv6) and its own shell (`failed to start Boot0008 "EFI Internal
 * Shell" ...: Security Violation`, the firmware's, not the image's) and only 268 s after start says
 *   BdsDxe: No bootable option or device was found.
 */
export const SECURE_BOOT_FAILURES: readonly ConsoleFailure[] = [
  {
    reason: 'secure-boot-rejected',
    pattern: /failed to load Boot[0-9A-Fa-f]+\b.*: Access Denied/,
    says: 'the firmware refused the boot loader: Secure Boot rejected an unsigned EFI binary (or one signed by a key its db does not hold)',
    hint:
      "under Secure Boot the EFI boot loader must be signed by a key in the firmware's db " +
      "(OVMF's has Microsoft's UEFI CA 2011: a signed shim), and what it loads by a key shim trusts; " +
      '`ib-native inspect IMAGE` shows who signed each EFI binary (an image built with secureBoot: false has an unsigned GRUB); ' +
      'boot without --secure-boot to check the rest of the image',
  },
  {
    reason: 'no-bootable-device',
    pattern: /No bootable option or device was found/,
    says: 'the firmware found nothing it would boot: no EFI boot loader on any device, or each one refused',
    hint: 'check that the image has an EFI boot loader (`ib-native inspect IMAGE` lists its boot chain); a loader Secure Boot refuses is logged as "Access Denied"',
  },
];

/** The first failure whose pattern `text` holds, with the console line that shows it. Pure. */
export function consoleFailure(
  text: string,
  failures: readonly ConsoleFailure[],
): { failure: ConsoleFailure; line: string } | undefined {
  for (const failure of failures) {
    const m = failure.pattern.exec(text);
    if (!m) continue;
    const end = text.indexOf('\n', m.index);
    const line = text.slice(text.lastIndexOf('\n', m.index) + 1, end < 0 ? undefined : end).trim();
    return { failure, line };
  }
  return undefined;
}
