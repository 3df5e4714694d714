/**
 * A warm QCOW2 as a delta (pure parts): the finished raw disk of a warm build is the cached base
 * disk plus what the configuration changed (rsync of the tree, boot loaders), a few MB of a GB.
 * Instead of compressing the whole raw disk again, the cached base QCOW2 (the base disk
 * converted once) is copied and the clusters where the raw disk differs from the base disk are
 * written into it. Only where either file has data can they differ (both are sparse; a hole reads
 * as zeros), so the comparison reads the data extents `qemu-img map` reports, nothing else.
 */

/** A byte range of a disk. */
export interface Extent {
  start: number;
  length: number;
}

/** QCOW2's default cluster: the unit the comparison and the writes are aligned to. */
export const QCOW2_CLUSTER = 65536;

/**
 * When a delta is not worth it: more than this share of the raw disk's data changed (a profile
 * that adds much), or more writes than one qemu-io run should carry. Then the raw disk is
 * converted as a whole.
 */
export const DELTA_LIMITS = {
  changedShare: 0.25,
  runs: 4096,
  runBytes: 32 * 2 ** 20,
  gapClusters: 8,
} as const;

/**
 * The data extents of `qemu-img map --output=json -f raw` (SEEK_DATA/SEEK_HOLE on the file):
 * entries with `data: true`, adjacent ones merged. Throws on text that is not such a map.
 */
export function parseDataExtents(json: string): Extent[] {
  let entries: unknown;
  try {
    entries = JSON.parse(json);
  } catch {
    throw new Error(`qemu-img map printed no JSON: ${json.slice(0, 200)}`);
  }
  if (!Array.isArray(entries)) throw new Error('qemu-img map printed no list of extents');
  const data: Extent[] = [];
  for (const e of entries as { start?: unknown; length?: unknown; data?: unknown }[]) {
    if (typeof e?.start !== 'number' || typeof e.length !== 'number' || typeof e.data !== 'boolean')
      throw new Error(`qemu-img map: an extent without start, length and data: ${JSON.stringify(e)}`);
    if (e.data && e.length > 0) data.push({ start: e.start, length: e.length });
  }
  return mergeExtents(data, 0);
}

/** Sorted, overlapping or touching ones (or closer than `gap` bytes) merged. */
export function mergeExtents(extents: readonly Extent[], gap: number): Extent[] {
  const sorted = [...extents].sort((a, b) => a.start - b.start);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out.at(-1);
    if (last && e.start <= last.start + last.length + gap)
      last.length = Math.max(last.length, e.start + e.length - last.start);
    else out.push({ ...e });
  }
  return out;
}

/**
 * Where two disks of `size` bytes may differ: the union of their data extents, widened to whole
 * clusters and clipped to the disk.
 */
export function comparedExtents(
  a: readonly Extent[],
  b: readonly Extent[],
  size: number,
  cluster = QCOW2_CLUSTER,
): Extent[] {
  const aligned = [...a, ...b].map((e) => {
    const start = Math.floor(e.start / cluster) * cluster;
    const end = Math.min(size, Math.ceil((e.start + e.length) / cluster) * cluster);
    return { start, length: end - start };
  });
  return mergeExtents(
    aligned.filter((e) => e.length > 0),
    0,
  );
}

/**
 * The writes for a sorted list of changed cluster offsets: runs of clusters, two runs merged when
 * at most `gapClusters` unchanged clusters lie between them (one write instead of two; the
 * unchanged ones are written with the same bytes), none longer than `runBytes`. The last cluster
 * is clipped to the disk's size.
 */
export function deltaRuns(
  changed: readonly number[],
  size: number,
  o: { cluster?: number; gapClusters?: number; runBytes?: number } = {},
): Extent[] {
  const cluster = o.cluster ?? QCOW2_CLUSTER;
  const gap = (o.gapClusters ?? DELTA_LIMITS.gapClusters) * cluster;
  const max = o.runBytes ?? DELTA_LIMITS.runBytes;
  const runs: Extent[] = [];
  for (const start of changed) {
    const length = Math.min(cluster, size - start);
    const last = runs.at(-1);
    if (last && start <= last.start + last.length + gap && start + length - last.start <= max)
      last.length = start + length - last.start;
    else runs.push({ start, length });
  }
  return runs;
}

/**
 * Why the delta is not used for these runs (undefined: use it): compared with the bytes of data
 * the raw disk holds.
 */
export function deltaRefusal(runs: readonly Extent[], rawDataBytes: number): string | undefined {
  const bytes = runs.reduce((n, r) => n + r.length, 0);
  if (runs.length > DELTA_LIMITS.runs)
    return `${runs.length} separate changes (more than ${DELTA_LIMITS.runs})`;
  if (bytes > rawDataBytes * DELTA_LIMITS.changedShare)
    return `${Math.round((100 * bytes) / Math.max(1, rawDataBytes))} % of the disk's data changed (more than ${DELTA_LIMITS.changedShare * 100} %)`;
  return undefined;
}

/**
 * The qemu-io argv writing each run into `image` (a compressed QCOW2) from the file `files[i]`, a
 * name relative to the working folder qemu-io runs in (its command words are split on spaces).
 * Each run's clusters are first discarded, then written compressed (a compressed write may only go
 * to an unallocated cluster), so the image stays about as compact as a whole convert.
 */
export function qemuIoDeltaArgv(image: string, runs: readonly Extent[], files: readonly string[]): string[] {
  if (runs.length !== files.length) throw new Error('qemuIoDeltaArgv: one file per run');
  const commands = runs.flatMap((r, i) => {
    const file = files[i]!;
    if (!/^[\w.-]+$/.test(file)) throw new Error(`qemuIoDeltaArgv: ${file} is not a plain file name`);
    return [`discard -q ${r.start} ${r.length}`, `write -q -c -s ${file} ${r.start} ${r.length}`];
  });
  return ['qemu-io', '-f', 'qcow2', '--discard=unmap', ...commands.flatMap((c) => ['-c', c]), '--', image];
}

/** Whether `qemu-io -c 'help write'` shows a write that takes its data from a file (`-s`, QEMU 5.0). */
export function qemuIoWritesFromFile(help: string): boolean {
  return /-s source_file/.test(help) && /-s, -- use a pattern file/.test(help);
}
