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
      'debugfs reads one command per line, so ib-native cannot write or read this file through it; rename the file',
    );
  return `"${p.replace(/"/g, '""')}"`;
}

export interface InodeTime {
  /** Path inside the filesystem ('/' is its root). */
  path: string;
  /** Seconds since 1970: what atime and ctime become (mke2fs copied them from the live tree). */
  time: number;
  /**
   * Set mtime too: for the root (mke2fs makes it) and for mount points (their tmpfs stood in);
   * every other mtime is the tree's, which mke2fs copied.
   */
  mtime?: boolean;
}

/** A name relative to debugfs's current folder: `<N>` alone would mean inode N. */
function relName(name: string): string {
  return debugfsQuote(/^<.*>$/.test(name) ? `./${name}` : name);
}

/**
 * debugfs commands giving each inode one time for atime and ctime (and mtime where asked): the
 * tree's mtime as the build sees it (package mtimes kept, what the build wrote clamped to
 * SOURCE_DATE_EPOCH). crtime stays what mke2fs wrote: E2FSPROGS_FAKE_TIME, SOURCE_DATE_EPOCH.
 * Entries come folder by folder (walkTree order): a `cd` per folder keeps each lookup to one
 * name, four times faster than full paths on a rootfs.
 */
export function debugfsTimesScript(entries: readonly InodeTime[]): string {
  const lines: string[] = [];
  let cwd: string | undefined;
  for (const e of entries) {
    let target: string;
    if (e.path === '/') target = '"/"';
    else {
      const slash = e.path.lastIndexOf('/');
      const dir = e.path.slice(0, slash) || '/';
      if (dir !== cwd) {
        lines.push(`cd ${debugfsQuote(dir)}`);
        cwd = dir;
      }
      target = relName(e.path.slice(slash + 1));
    }
    const t = `@${Math.floor(e.time)}`;
    for (const field of e.mtime ? ['atime', 'mtime', 'ctime'] : ['atime', 'ctime'])
      lines.push(`sif ${target} ${field} ${t}`);
  }
  return `${lines.join('\n')}\n`;
}

/** debugfs in write mode on the filesystem at a partition's place in a disk image. */
export function debugfsArgv(image: string, p: PlacedPartition, scriptFile: string): string[] {
  return ['debugfs', '-w', '-f', scriptFile, `${image}?offset=${p.firstSector * SECTOR}`];
}

/** dd argv copying a partition's filesystem image to its place in the disk image, holes kept. */
export function ddIntoArgv(fsImage: string, image: string, p: PlacedPartition): string[] {
  return [
    'dd',
    `if=${fsImage}`,
    `of=${image}`,
    'bs=1M',
    `seek=${p.firstSector * SECTOR}`,
    'oflag=seek_bytes',
    'conv=notrunc,sparse',
    'status=none',
  ];
}

/** A pattern of names hidden from a partition's filesystem: `name` (`*` within one name) in `dir`. */
export interface HiddenNames {
  /** Folder relative to the partition's mount point ('' is its top). */
  dir: string;
  name: string;
}

/**
 * What of root-relative patterns (`var/lib/apt/lists/*`, `/live`; `*` only in the last name) falls
 * in partition `p`'s filesystem, relative to its mount point: a pattern under a partition mounted
 * below `p` belongs to that partition, not to `p`. Pure.
 */
export function hiddenInPartition(
  layout: Layout,
  p: PlacedPartition,
  patterns: readonly string[],
): HiddenNames[] {
  if (!p.mountpoint) return [];
  const base = p.mountpoint === '/' ? '' : p.mountpoint.replace(/^\/+|\/+$/g, '');
  const nested = nestedMountpoints(layout, p);
  const out: HiddenNames[] = [];
  for (const pattern of patterns) {
    const rel = pattern.replace(/^\/+|\/+$/g, '');
    if (!rel || rel.split('/').some((s) => s === '..' || s === '.' || s === ''))
      throw new UserError(
        `cannot hide ${JSON.stringify(pattern)} from a disk`,
        'name a path inside the image',
      );
    const inside = base === '' ? rel : rel.startsWith(`${base}/`) ? rel.slice(base.length + 1) : undefined;
    if (inside === undefined || nested.some((n) => inside === n || inside.startsWith(`${n}/`))) continue;
    const slash = inside.lastIndexOf('/');
    const dir = slash < 0 ? '' : inside.slice(0, slash);
    if (dir.includes('*'))
      throw new UserError(
        `cannot hide ${JSON.stringify(pattern)}: a wildcard before the last name`,
        'use * in the last name only',
      );
    out.push({ dir, name: inside.slice(slash + 1) });
  }
  return out;
}

/** Whether `name` matches a pattern of one name where `*` (the only wildcard) stands for any run of characters. Pure. */
export function nameMatches(pattern: string, name: string): boolean {
  const re = pattern
    .split('*')
    .map((s) => s.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`, 's').test(name);
}
