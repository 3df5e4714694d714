// Over 300 lines: the whole partition model (sizes, default layout, checks, sgdisk argv, fstab) is one pure unit; its parts share the placed-partition type.
import { createHash } from 'node:crypto';
import { InternalError } from '../errors.ts';
import type { Partition } from '../profile/schema.ts';

/**
 * Partition math (pure): sizes to sectors, the default layout of the original tool, checks,
 * the sgdisk argv and fstab. Partitions are numbered in list order (the root must be number 1
 * for Ironic's config-drive injection), independently of where they sit on the disk.
 */

export const SECTOR = 512;
const GPT_BACKUP_SECTORS = 34;
const UNITS: Record<string, number> = {
  B: 1,
  K: 1024,
  KiB: 1024,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
  T: 1024 ** 4,
  TiB: 1024 ** 4,
};

export const DEFAULT_DISK_SIZE = '19G';
export const DEFAULT_FSTAB_OPTIONS = 'defaults,errors=remount-ro,noatime';

/** The original image-builder's GPT layout. */
export const DEFAULT_PARTITIONS: Partition[] = [
  {
    name: 'root',
    mountpoint: '/',
    filesystem: 'ext4',
    start: '1284MiB',
    end: '100%',
    flags: [],
    fstabOptions: DEFAULT_FSTAB_OPTIONS,
    fsckPass: 1,
  },
  { name: 'bios', filesystem: 'none', start: '1MiB', end: '5MiB', flags: ['bios_grub'] },
  {
    name: 'efi',
    mountpoint: '/boot/efi',
    filesystem: 'vfat',
    start: '5MiB',
    end: '516MiB',
    flags: ['esp'],
    fstabOptions: DEFAULT_FSTAB_OPTIONS,
    fsckPass: 1,
  },
  {
    name: 'boot',
    mountpoint: '/boot',
    filesystem: 'ext4',
    start: '516MiB',
    end: '1284MiB',
    flags: [],
    fstabOptions: DEFAULT_FSTAB_OPTIONS,
    fsckPass: 2,
  },
];

export const MIN_ESP_BYTES = 260 * 1024 ** 2;

/** Bytes of a size string; `%` is relative to `total`. */
export function parseSize(s: string, total?: number): number {
  const m = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB|K|M|G|T|%)$/.exec(s);
  if (!m) throw new Error(`bad size "${s}"`);
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (total === undefined) throw new Error(`"${s}" needs a disk size`);
    return Math.floor((total * n) / 100);
  }
  return Math.round(n * UNITS[m[2]!]!);
}

export interface PlacedPartition extends Partition {
  number: number;
  firstSector: number;
  /** Inclusive, as sgdisk wants it. */
  lastSector: number;
}

export interface Layout {
  sizeBytes: number;
  partitions: PlacedPartition[];
}

export interface LayoutIssue {
  path: string;
  message: string;
}

/** Place partitions on a disk and check them; returns issues instead of throwing. */
export function computeLayout(
  size = DEFAULT_DISK_SIZE,
  parts: readonly Partition[] = DEFAULT_PARTITIONS,
): { layout: Layout; issues: LayoutIssue[] } {
  const issues: LayoutIssue[] = [];
  const sizeBytes = parseSize(size);
  const lastUsable = Math.floor(sizeBytes / SECTOR) - GPT_BACKUP_SECTORS;
  const placed: PlacedPartition[] = parts.map((p, i) => {
    const startB = parseSize(p.start, sizeBytes);
    const endB = p.end === '100%' ? (lastUsable + 1) * SECTOR : parseSize(p.end, sizeBytes);
    const firstSector = Math.ceil(startB / SECTOR);
    const lastSector = Math.min(
      Math.ceil(endB / SECTOR) - 1,
      p.end === '100%' ? lastUsable : Number.MAX_SAFE_INTEGER,
    );
    return { ...p, number: i + 1, firstSector, lastSector };
  });
  placed.forEach((p, i) => {
    const at = `disk.partitions[${i}]`;
    if (p.firstSector < 2048)
      issues.push({
        path: `${at}.start`,
        message: `must be at least 1MiB (room for the GPT), got ${p.start}`,
      });
    if (p.firstSector > lastUsable)
      issues.push({
        path: `${at}.start`,
        message: `${p.start} is beyond the end of the ${size} disk; grow disk.size or move the partition`,
      });
    else if (p.lastSector < p.firstSector)
      issues.push({ path: `${at}.end`, message: `must be after start (${p.start})` });
    if (p.lastSector > lastUsable)
      issues.push({
        path: `${at}.end`,
        message: `${p.end} is beyond the end of the ${size} disk; grow disk.size or shrink the partition`,
      });
    if (p.firstSector % 2048 !== 0)
      issues.push({ path: `${at}.start`, message: `${p.start} is not aligned to 1MiB` });
    if (p.flags.includes('esp')) {
      if (p.filesystem !== 'vfat')
        issues.push({ path: `${at}.filesystem`, message: 'an EFI system partition must be vfat' });
      if ((p.lastSector - p.firstSector + 1) * SECTOR < MIN_ESP_BYTES)
        issues.push({ path: `${at}`, message: 'EFI system partition is too small: at least 260MiB' });
    }
    if (p.flags.includes('bios_grub') && p.filesystem !== 'none')
      issues.push({
        path: `${at}.filesystem`,
        message: 'a bios_grub partition holds no filesystem: use "none"',
      });
    if (p.filesystem !== 'none' && !p.mountpoint && !p.flags.includes('esp'))
      issues.push({ path: `${at}.mountpoint`, message: 'a partition with a filesystem needs a mountpoint' });
    for (let j = 0; j < i; j++) {
      const q = placed[j]!;
      if (p.firstSector <= q.lastSector && q.firstSector <= p.lastSector)
        issues.push({
          path: at,
          message: `overlaps disk.partitions[${j}] ("${q.name}": ${q.start}-${q.end})`,
        });
      if (p.mountpoint && p.mountpoint === q.mountpoint)
        issues.push({
          path: `${at}.mountpoint`,
          message: `${p.mountpoint} is mounted twice (also disk.partitions[${j}])`,
        });
      if (p.name === q.name)
        issues.push({ path: `${at}.name`, message: `duplicate partition name "${p.name}"` });
    }
  });
  const roots = placed.filter((p) => p.mountpoint === '/');
  if (roots.length === 0)
    issues.push({
      path: 'disk.partitions',
      message: 'no root partition: one partition needs mountpoint "/"',
    });
  if (!placed.some((p) => p.flags.includes('bios_grub')))
    issues.push({
      path: 'disk.partitions',
      message: 'no bios_grub partition: BIOS boot needs one (1MiB-5MiB in the default layout)',
    });
  if (!placed.some((p) => p.flags.includes('esp')))
    issues.push({
      path: 'disk.partitions',
      message: 'no EFI system partition (flag "esp"): UEFI boot needs one',
    });
  return { layout: { sizeBytes, partitions: placed }, issues };
}

export function gptTypeCode(p: Partition): string {
  if (p.flags.includes('bios_grub')) return 'EF02';
  if (p.flags.includes('esp')) return 'EF00';
  return '8300';
}

/** A stable UUID derived from a seed (reproducible images); version-4 shaped. */
export function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const v = `4${h.slice(13, 16)}`;
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}

export function sgdiskArgv(image: string, layout: Layout, seed: string): string[] {
  const argv = ['sgdisk', '--zap-all', '--clear', `--disk-guid=${stableUuid(`${seed}:disk`)}`];
  for (const p of layout.partitions) {
    argv.push(
      `--new=${p.number}:${p.firstSector}:${p.lastSector}`,
      `--typecode=${p.number}:${gptTypeCode(p)}`,
      `--change-name=${p.number}:${p.name}`,
      `--partition-guid=${p.number}:${stableUuid(`${seed}:part:${p.name}`)}`,
    );
    if (p.flags.includes('legacy_boot') || p.flags.includes('boot'))
      argv.push(`--attributes=${p.number}:set:2`);
  }
  argv.push(image);
  return argv;
}

/** Filesystem identity per partition: ext4/xfs UUIDs, FAT volume ids (8 hex digits). */
export function fsIdentity(p: Partition, seed: string): string {
  const u = stableUuid(`${seed}:fs:${p.name}`);
  return p.filesystem === 'vfat' ? u.replace(/-/g, '').slice(0, 8).toUpperCase() : u;
}

/** `UUID=` value as blkid reports it (FAT volume ids as XXXX-XXXX). */
export function fstabUuid(p: Partition, seed: string): string {
  const id = fsIdentity(p, seed);
  return p.filesystem === 'vfat' ? `${id.slice(0, 4)}-${id.slice(4)}` : id;
}

export function renderFstab(layout: Layout, seed: string): string {
  const lines = ['# <file system> <mount point> <type> <options> <dump> <pass>   (written by ib-native)'];
  const mounted = layout.partitions
    .filter((p) => p.filesystem !== 'none' && p.mountpoint)
    .sort(
      (a, b) =>
        a.mountpoint!.split('/').filter(Boolean).length - b.mountpoint!.split('/').filter(Boolean).length,
    );
  for (const p of mounted) {
    const pass = p.fsckPass ?? (p.mountpoint === '/' ? 1 : 2);
    lines.push(
      `UUID=${fstabUuid(p, seed)} ${p.mountpoint} ${p.filesystem} ${p.fstabOptions ?? DEFAULT_FSTAB_OPTIONS} 0 ${pass}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A partition made without a block device: ext4 at its place inside the whole-disk image
 * (`mke2fs -E offset=`), FAT as a file of the partition's size (`mkfs.vfat -C`, copied into the
 * disk afterwards: with --offset, mkfs.fat 4.2 picks the cluster size from the whole file's size).
 */
export interface InImage {
  firstSector: number;
  lastSector: number;
  /** ext4 only: fill the new filesystem from this folder (`mke2fs -d`). */
  populateFrom?: string;
}

/**
 * mkfs argv for one partition: on its block device, or with `inImage` on the disk image (ext4)
 * or a new FAT image file (vfat) named by `device`. Identities (UUID, hash seed, FAT volume id)
 * derive from `seed`; FAT gets `--invariant` so its few time-based fields are constants (it must
 * precede `-i`, which it would reset).
 */
export function mkfsArgv(
  p: Partition,
  device: string,
  seed: string,
  inImage?: InImage,
): string[] | undefined {
  const id = fsIdentity(p, seed);
  // label limits: FAT 11 characters, XFS 12, ext4 16
  const label = (p.label ?? p.name).slice(0, p.filesystem === 'vfat' ? 11 : p.filesystem === 'xfs' ? 12 : 16);
  const kib = inImage
    ? String(Math.floor(((inImage.lastSector - inImage.firstSector + 1) * SECTOR) / 1024))
    : undefined;
  switch (p.filesystem) {
    case 'ext4':
      return [
        'mkfs.ext4',
        '-q',
        '-F',
        '-L',
        label,
        '-U',
        id,
        '-E',
        [
          `hash_seed=${stableUuid(`${seed}:hash:${p.name}`)}`,
          ...(inImage ? [`offset=${inImage.firstSector * SECTOR}`] : []),
        ].join(','),
        ...(inImage?.populateFrom ? ['-d', inImage.populateFrom] : []),
        device,
        ...(kib ? [`${kib}k`] : []),
      ];
    case 'xfs':
      if (inImage) throw new InternalError(`mkfsArgv: xfs (${p.name}) cannot be made inside a disk image`);
      return ['mkfs.xfs', '-q', '-f', '-L', label, '-m', `uuid=${id}`, device];
    case 'vfat':
      return [
        'mkfs.vfat',
        '-F',
        '32',
        '-n',
        label.toUpperCase(),
        '--invariant',
        '-i',
        id,
        // hidden sectors: the partition's start, as mkfs.vfat finds it on a partition device
        ...(inImage ? ['-h', String(inImage.firstSector), '-C'] : []),
        device,
        ...(kib ? [kib] : []),
      ];
    case 'none':
      return undefined;
  }
}
