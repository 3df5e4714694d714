/**
 * Offline readers for produced images, for tests: the ones `ib-native inspect` uses
 * (src/inspect/), run through a quiet runner. No mounts, no loop devices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type DiskImage, ext4Reader, openDisk } from '../../src/inspect/disk.ts';
import { type IsoImage, openIso } from '../../src/inspect/iso.ts';
import { parseSgdiskPrint } from '../../src/inspect/parsers.ts';
import { type ImageFs, resolvePath } from '../../src/inspect/paths.ts';
import { silentLogger } from '../../src/log.ts';
import { processRunner } from '../../src/run/runner.ts';

export const runner = processRunner({ logger: silentLogger });

/** A QCOW2 converted to a raw scratch copy in `dir`, read by `fn`, the copy removed after. */
export async function withDisk<T>(
  qcow2: string,
  dir: string,
  fn: (disk: DiskImage) => Promise<T>,
): Promise<T> {
  const scratch = mkdtempSync(path.join(dir, 'disk-'));
  try {
    return await fn(await openDisk(runner, qcow2, scratch));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A QCOW2 read for as long as `scratch` (which holds its raw copy) exists. */
export function readDisk(qcow2: string, scratch: string): Promise<DiskImage> {
  return openDisk(runner, qcow2, scratch);
}

/** A live ISO's layers and merged filesystem; `scratch` keeps copies of its small upper layers. */
export function readIso(iso: string, scratch: string): Promise<IsoImage> {
  return openIso(runner, iso, scratch);
}

/** A text file of an image, links followed as on the booted system. */
export async function catText(fs: ImageFs, file: string): Promise<string> {
  const r = await resolvePath(file, fs.lstat, fs.readlink);
  if (!r.found) throw new Error(`${file} is not in the image (absent at ${r.at})`);
  return (await fs.read(r.path)).toString();
}

export interface PartitionTable {
  /** `sgdisk --print` as it printed it. */
  text: string;
  parts: Map<number, { first: number; last: number }>;
}

/** The GPT of a raw disk image. */
export async function partitionTable(raw: string): Promise<PartitionTable> {
  const text = (await runner.run(['sgdisk', '--print', raw])).stdout;
  const parts = new Map(
    parseSgdiskPrint(text).partitions.map(
      (p) => [p.number, { first: p.firstSector, last: p.lastSector }] as const,
    ),
  );
  return { text, parts };
}

/** A file of an ext4 filesystem: `device` is an image file or `raw?offset=BYTES`. */
export async function ext4Cat(device: string, file: string): Promise<string> {
  return (await ext4Reader(runner, device, path.dirname(device)).read(file)).toString();
}
