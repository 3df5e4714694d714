import { lstatSync } from 'node:fs';
import type { SignedBootChain } from '../distro/types.ts';
import { UserError } from '../errors.ts';
import { sourceDateEpochEnv } from '../repro/times.ts';
import type { Runner } from '../run/runner.ts';
import { resolveInRoot } from '../sys/in-root.ts';

/**
 * What the UEFI side of an image holds: the files of an ESP (the disk's, or the ISO's El Torito FAT
 * image), each from a host file. Either ib-native's own standalone GRUB as the removable-media
 * loader, or the distro's signed chain: shim as EFI/BOOT/BOOTX64.EFI, which starts the signed GRUB
 * beside it (`grubx64.efi`, the name shim looks for), and MokManager beside both. fbx64.efi is never
 * put in EFI/BOOT: shim would run the fallback loader (NVRAM entries, a reset) instead of GRUB.
 */
export interface EspFile {
  /** File on the host. */
  from: string;
  /** Path in the FAT filesystem, e.g. EFI/BOOT/BOOTX64.EFI. */
  to: string;
}

/** The removable-media path every UEFI firmware starts on its own. */
export const REMOVABLE_LOADER = 'EFI/BOOT/BOOTX64.EFI';

/** A chain file as it is in the image tree; a clear error when the image lacks it. */
export function chainFile(tree: string, imagePath: string, chain: SignedBootChain): string {
  // links followed inside the image; the result is then looked at without following anything
  const file = resolveInRoot(tree, imagePath, { follow: true });
  if (!lstatSync(file, { throwIfNoEntry: false })?.isFile())
    throw new UserError(
      `the image has no ${imagePath}, part of its signed boot chain (from ${chain.packages.join(', ')})`,
      'keep those packages in the image (packages, remove, blockedPackages), or set secureBoot: false',
    );
  return file;
}

/** What an ESP boots: the distro's signed chain (its files in the image tree), or ib-native's own GRUB. */
export type EfiBoot = { chain: SignedBootChain; tree: string } | { standalone: string };

/**
 * shim, the given signed GRUB under the name shim starts (`grubx64.efi`) and MokManager, in one
 * folder of the ESP; shim is named `shim` there (BOOTX64.EFI at the removable path).
 */
function signedTrio(
  chain: SignedBootChain,
  tree: string,
  grub: string,
  dir: string,
  shim: string,
): EspFile[] {
  const file = (p: string) => chainFile(tree, p, chain);
  return [
    { from: file(chain.shim), to: `${dir}/${shim}` },
    { from: file(grub), to: `${dir}/grubx64.efi` },
    { from: file(chain.mokManager), to: `${dir}/mmx64.efi` },
  ];
}

/**
 * The ESP of a disk. Signed: shim, GRUB and MokManager both at the removable path and in
 * EFI/<vendor>/ as the distro installs them, and EFI/<vendor>/grub.cfg, where the signed GRUB
 * reads its config (its prefix; Ubuntu's has no embedded config and reads nothing else): the early
 * config that finds /boot by UUID. Own GRUB: the standalone image at the removable path.
 */
export function diskEspFiles(boot: EfiBoot, earlyCfg: string): EspFile[] {
  if ('standalone' in boot) return [{ from: boot.standalone, to: REMOVABLE_LOADER }];
  const { chain, tree } = boot;
  const vendor = `EFI/${chain.vendor}`;
  return [
    ...signedTrio(chain, tree, chain.grub, 'EFI/BOOT', 'BOOTX64.EFI'),
    ...signedTrio(chain, tree, chain.grub, vendor, 'shimx64.efi'),
    { from: earlyCfg, to: `${vendor}/grub.cfg` },
  ];
}

/**
 * The ISO's El Torito FAT image. Signed: shim, the distro's CD GRUB (prefix /boot/grub of the
 * medium it booted from; when that is the FAT image it finds the ISO by /.disk/info, which the ISO
 * carries) and MokManager; EFI/BOOT/grub.cfg, read last by that GRUB, is the early config too.
 */
export function isoEspFiles(boot: EfiBoot, earlyCfg: string): EspFile[] {
  if ('standalone' in boot) return [{ from: boot.standalone, to: REMOVABLE_LOADER }];
  return [
    ...signedTrio(boot.chain, boot.tree, boot.chain.grubCd, 'EFI/BOOT', 'BOOTX64.EFI'),
    { from: earlyCfg, to: 'EFI/BOOT/grub.cfg' },
  ];
}

/** The folders the files need, parents first (mtools' mmd makes one level at a time). */
export function espFolders(files: readonly EspFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.to.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

/**
 * The files into a FAT filesystem (a file, or a partition as mtools' `-i` names it), no mount
 * needed. mtools dates its entries with SOURCE_DATE_EPOCH when given. Folders already there are
 * kept (mmd exits 1 for them).
 */
export async function copyIntoFat(
  runner: Runner,
  fat: string,
  files: readonly EspFile[],
  sourceDateEpoch?: number,
): Promise<void> {
  const env = sourceDateEpochEnv(sourceDateEpoch);
  const dirs = espFolders(files).map((d) => `::/${d}`);
  if (dirs.length) await runner.run(['mmd', '-D', 's', '-i', fat, ...dirs], { okExitCodes: [1], env });
  for (const f of files) await runner.run(['mcopy', '-o', '-i', fat, f.from, `::/${f.to}`], { env });
}
