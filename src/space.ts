import { existsSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from './doctor.ts';
import { CommandError, isNoSpace, UserError } from './errors.ts';
import { type Family, FORMAT_INFO, type Format, familiesOf } from './profile/formats.ts';
import type { Runner } from './run/runner.ts';

/**
 * Disk space. Before any work, what a build will write is estimated from its profile and
 * checked against the free space of each filesystem it writes to (the cache folder, which holds
 * the per-build work folder, and the output folder; both count against one filesystem when
 * they share it). When space runs out anyway, the error names the folder that filled up.
 */

const MiB = 2 ** 20;

/**
 * Sizes measured on this project's builds (README "Benchmark"): the minimal rootfs (11 packages
 * in the apt transaction) takes 954 MiB, the worker rootfs (77 packages) 1.9 GiB; the lz4 live
 * squashfs is 32-40 % of the rootfs, the zstd QCOW2 30 %, the raw base disk the rootfs plus its
 * filesystems' metadata. Rounded up.
 */
export const SIZES = {
  rootfsBase: 800 * MiB,
  rootfsPerPackage: 16 * MiB,
  downloadsBase: 200 * MiB,
  downloadsPerPackage: 3 * MiB,
  layers: 256 * MiB,
  squashfsRatio: 0.45,
  isoExtra: 128 * MiB,
  diskRatio: 1.05,
  diskExtra: 128 * MiB,
} as const;

export interface SpaceInputs {
  formats: readonly Format[];
  /** Packages in the one apt transaction: sizes a rootfs that is not cached yet. */
  packages: number;
  /** Whether the rootfs comes from the cache (not built, not refreshed). */
  rootfsCached: boolean;
  /** Its size when the cache entry recorded it. */
  rootfsBytes?: number;
  /** Families whose base entry (live squashfs, base disk) the cache holds already. */
  familiesCached?: readonly Family[];
  /** Virtual size of the QCOW2 disk: no raw copy of it holds more. */
  diskBytes?: number;
  compressQcow2: boolean;
  /** `build --site`: how many ISOs the build writes (one per site). */
  isoCount?: number;
}

export interface Need {
  what: string;
  bytes: number;
}

export interface SpaceNeeds {
  /** The cache folder: new cache entries and the per-build work folder. */
  cache: Need[];
  /** The output folder: the images (written beside the previous ones until published). */
  output: Need[];
}

/**
 * What one build writes, per folder (pure). A cached live base squashfs or base disk is not
 * made again, so it is not counted; the copy of the base disk being configured always is.
 */
export function estimateSpace(i: SpaceInputs): SpaceNeeds {
  const rootfs = i.rootfsBytes ?? SIZES.rootfsBase + SIZES.rootfsPerPackage * i.packages;
  const cache: Need[] = [];
  const output: Need[] = [];
  if (!i.rootfsCached)
    cache.push(
      { what: 'the base rootfs', bytes: rootfs },
      { what: 'downloaded packages', bytes: SIZES.downloadsBase + SIZES.downloadsPerPackage * i.packages },
    );
  cache.push({ what: 'the configuration layers', bytes: SIZES.layers });
  const raw = Math.min(Math.ceil(rootfs * SIZES.diskRatio) + SIZES.diskExtra, i.diskBytes ?? Infinity);
  const squashfs = Math.ceil(rootfs * SIZES.squashfsRatio);
  const basis = { squashfs, raw, rootfs, compressQcow2: i.compressQcow2 };
  const families = familiesOf(i.formats);
  const cached = (f: Family) => i.familiesCached?.includes(f) ?? false;
  if (families.includes('live')) {
    if (!cached('live')) cache.push({ what: 'the live base squashfs', bytes: squashfs });
    cache.push({ what: 'the live work folder', bytes: squashfs + SIZES.isoExtra });
  }
  if (families.includes('disk')) {
    if (!cached('disk')) cache.push({ what: 'the base disk', bytes: raw });
    // a warm QCOW2 is the base disk's QCOW2 with what changed written in (src/stages/qcow2-delta.ts)
    if (!cached('disk') && i.formats.includes('qcow2') && i.compressQcow2)
      cache.push({ what: 'the base QCOW2', bytes: FORMAT_INFO.qcow2.size(basis) });
    cache.push({ what: 'the disk being configured', bytes: raw });
  }
  for (const f of i.formats) {
    const copies = f === 'iso' ? (i.isoCount ?? 1) : 1;
    const bytes = FORMAT_INFO[f].size(basis);
    output.push(
      copies > 1
        ? { what: `the ${copies} site ISOs`, bytes: copies * bytes }
        : { what: `the ${f} output`, bytes },
    );
  }
  return { cache, output };
}

export interface Folder {
  /** The flag that chose it, e.g. `--output`. */
  flag: string;
  dir: string;
  needs: Need[];
}

export interface Filesystem {
  /** Identifies the filesystem (its device number). */
  id: string;
  freeBytes: number;
}

/** The filesystem holding dir, or its nearest existing parent. */
export function filesystemOf(dir: string): Filesystem | undefined {
  let d = path.resolve(dir);
  while (!existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  try {
    const s = statfsSync(d);
    return { id: String(statSync(d).dev), freeBytes: Number(s.bavail) * Number(s.bsize) };
  } catch {
    return undefined;
  }
}

function sum(needs: readonly Need[]): number {
  return needs.reduce((a, n) => a + n.bytes, 0);
}

/** One line per filesystem that lacks room for what its folders need (pure). */
export function spaceProblems(folders: readonly (Folder & { fs?: Filesystem })[]): string[] {
  const byFs = new Map<string, { fs: Filesystem; folders: (Folder & { fs?: Filesystem })[] }>();
  for (const f of folders) {
    if (!f.fs) continue;
    const g = byFs.get(f.fs.id) ?? { fs: f.fs, folders: [] };
    g.folders.push(f);
    byFs.set(f.fs.id, g);
  }
  const problems: string[] = [];
  for (const { fs, folders: group } of byFs.values()) {
    const needs = group.flatMap((f) => f.needs);
    const total = sum(needs);
    if (fs.freeBytes >= total) continue;
    const names = [...new Set(group.map((f) => `${f.flag} ${f.dir}`))];
    const where = names.length > 1 ? `${names.join(' and ')} (one filesystem)` : names[0];
    const detail = needs.map((n) => `${n.what} ${formatBytes(n.bytes)}`).join(', ');
    problems.push(
      `${where}: ${formatBytes(fs.freeBytes)} free, the build needs about ${formatBytes(total)} there (${detail})`,
    );
  }
  return problems;
}

/** Fails before any work when a folder's filesystem cannot hold what the build writes there. */
export function checkSpace(
  folders: readonly Folder[],
  probe: (dir: string) => Filesystem | undefined = filesystemOf,
): void {
  const problems = spaceProblems(folders.map((f) => ({ ...f, fs: probe(f.dir) })));
  if (!problems.length) return;
  throw new UserError(
    `not enough free disk space:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    'free some space (`ib-native cache prune --older-than N` removes old cache entries), or point --cache-dir / --output at a bigger disk',
  );
}

/** Below this, a folder counts as full when something ran out of space. */
export const NEARLY_FULL_BYTES = 64 * MiB;

/**
 * The error for a build that ran out of space (pure): names the folder whose filesystem was full
 * when it happened (measured then, before cleanup freed anything), or says that none of them was.
 */
export function noSpaceError(
  err: Error,
  folders: readonly { flag: string; dir: string; freeBytes?: number }[],
): UserError {
  const file = (err as NodeJS.ErrnoException).path;
  const step =
    err instanceof CommandError ? (err.context ?? err.argv.join(' ')) : `writing ${file ?? 'a file'}`;
  const said =
    err instanceof CommandError
      ? err.stderrTail
          .split('\n')
          .filter((l) => /no space left/i.test(l))
          .at(-1)
          ?.trim()
      : undefined;
  const full = folders.filter((f) => f.freeBytes !== undefined && f.freeBytes < NEARLY_FULL_BYTES);
  const tail = said ? `\n  ${said}` : '';
  if (full.length) {
    const where = full.map((f) => `${f.flag} ${f.dir} (${formatBytes(f.freeBytes!)} free)`).join(' and ');
    return new UserError(
      `no space left on device (ENOSPC) in ${where} while ${step}${tail}`,
      `free space there or point ${full.map((f) => f.flag).join(' / ')} at a bigger disk, then build again; nothing was published and the cache keeps only complete entries`,
    );
  }
  return new UserError(
    `no space left on device (ENOSPC) while ${step}; ${folders.map((f) => `${f.flag} ${f.dir}`).join(' and ')} still had room${tail}`,
    "the image's own filesystem may be too small for its files: enlarge the root partition (disk.size, disk.partitions); or another folder filled up during the build",
  );
}

/**
 * Watches a build for running out of space: the wrapped runner measures the folders' free space
 * the moment a command fails with ENOSPC (before cleanup frees anything); `explain` turns such an
 * error (or a file write's ENOSPC) into `noSpaceError`, and leaves every other error as it is.
 */
export class NoSpaceWatch {
  private measured?: { flag: string; dir: string; freeBytes?: number }[];
  constructor(private readonly folders: Readonly<Record<string, string>>) {}

  private measure() {
    return Object.entries(this.folders).map(([flag, dir]) => ({
      flag,
      dir,
      freeBytes: filesystemOf(dir)?.freeBytes,
    }));
  }

  wrap(runner: Runner): Runner {
    return {
      toolTime: runner.toolTime,
      killAll: (signal) => runner.killAll(signal),
      run: async (argv, opts) => {
        try {
          return await runner.run(argv, opts);
        } catch (e) {
          if (isNoSpace(e)) this.measured ??= this.measure();
          throw e;
        }
      },
    };
  }

  explain(e: unknown): unknown {
    return isNoSpace(e) ? noSpaceError(e as Error, this.measured ?? this.measure()) : e;
  }
}

/** MemAvailable of /proc/meminfo's text, in bytes; undefined when absent. Pure. */
export function memAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * Whether a family's work folder goes to memory, and the tmpfs's size (pure): when what it will
 * hold (`bytes`, an estimate) takes at most 40 % of the memory available, the tmpfs may grow to
 * 60 % of it (half again as much as the estimate, at least). Memory spares the raw disk, written
 * and read once, the writeback every byte written to the cache's disk costs: on a disk that
 * writes 128 MB/s, a 1.1 GB raw disk is 9 s of writeback the whole build waits on.
 */
export function workInMemory(bytes: number, available: number | undefined): { size: number } | undefined {
  if (available === undefined || bytes > available * 0.4) return undefined;
  return { size: Math.floor(available * 0.6) };
}
