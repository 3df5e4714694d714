import { UserError } from '../errors.ts';
import type { Layout, PlacedPartition } from './layout.ts';
import { SECTOR } from './layout.ts';

/**
 * A disk made from a tree without mounting it (pure parts): each ext4 filesystem is created and
 * filled by `mke2fs -d` at its place in the image (user space, one thread, files in name
 * order: the same tree gives the same blocks), then debugfs sets the inode times that
 * mke2fs copied from the live tree (ctime and atime change whenever the tree is touched; no
 * system call can set a ctime).
 */

/** Why a layout cannot be made this way (undefined when it can). */
export function populateIssue(layout: Layout): string | undefined {
  const xfs = layout.partitions.filter((p) => p.filesystem === 'xfs').map((p) => p.name);
  return xfs.length
    ? `xfs partition ${xfs.join(', ')}: mkfs.xfs cannot fill a filesystem from a folder with its ` +
        'extended attributes and fixed times, so the disk is made through a kernel mount and is not bit-identical'
    : undefined;
}

/**
 * Mount points of other filesystems below `p`'s, relative to it, outermost only (with /boot and
 * /boot/efi on their own partitions, the root filesystem hides `boot`; the /boot one hides `efi`).
 */
export function nestedMountpoints(layout: Layout, p: PlacedPartition): string[] {
  const base = p.mountpoint;
  if (!base) return [];
  const prefix = base === '/' ? '/' : `${base}/`;
  const inside = layout.partitions
    .filter((q) => q !== p && q.filesystem !== 'none' && q.mountpoint?.startsWith(prefix))
    .map((q) => q.mountpoint!.slice(prefix.length).replace(/\/+$/, ''))
    .filter(Boolean);
  return [...new Set(inside)]
    .filter((rel) => !inside.some((o) => o !== rel && rel.startsWith(`${o}/`)))
    .sort();
}

/** A path quoted for a debugfs command file: double quotes, a quote doubled. */
export function debugfsQuote(p: string): string {
  if (/[\n\r\0]/.test(p))
    throw new UserError(
      `the image holds a file name with a line break: ${JSON.stringify(p)}`,
      'debugfs reads one command per line, so this name cannot be given fixed times; rename the file',
    );
  return `"${p.replace(/"/g, '""')}"`;
}

export interface InodeTime {
  /** Path inside the filesystem ('/' is its root). */
  path: string;
  /** Seconds since 1970: what atime, mtime and ctime become. */
  time: number;
}

/**
 * debugfs commands giving each inode one time for atime, mtime and ctime, the tree's mtime as
 * seen by the build (package mtimes kept, what the build wrote clamped to SOURCE_DATE_EPOCH).
 * crtime stays what mke2fs wrote: E2FSPROGS_FAKE_TIME, i.e. SOURCE_DATE_EPOCH.
 */
export function debugfsTimesScript(entries: readonly InodeTime[]): string {
  const lines: string[] = [];
  for (const e of entries) {
    const q = debugfsQuote(e.path);
    for (const field of ['atime', 'mtime', 'ctime']) lines.push(`sif ${q} ${field} @${Math.floor(e.time)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** debugfs in write mode on the filesystem at a partition's place in a disk image. */
export function debugfsArgv(image: string, p: PlacedPartition, scriptFile: string): string[] {
  return ['debugfs', '-w', '-f', scriptFile, `${image}?offset=${p.firstSector * SECTOR}`];
}

/** mtools' name for the FAT filesystem of a partition inside a disk image. */
export function mtoolsImage(image: string, p: PlacedPartition): string {
  return `${image}@@${p.firstSector * SECTOR}`;
}
