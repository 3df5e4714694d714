/** Offline readers for produced images (no mounts): partitions out of a QCOW2, files out of ext4. */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface PartitionTable {
  text: string;
  parts: Map<number, { first: number; last: number }>;
}

export async function partitionTable(raw: string): Promise<PartitionTable> {
  const text = (await execa('sgdisk', ['--print', raw])).stdout;
  const parts = new Map<number, { first: number; last: number }>();
  for (const m of text.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s/gm))
    parts.set(Number(m[1]), { first: Number(m[2]), last: Number(m[3]) });
  return { text, parts };
}

/** Copy one partition out of a raw disk image into its own (sparse) file. */
export async function extractPartition(
  raw: string,
  table: PartitionTable,
  n: number,
  out: string,
): Promise<void> {
  const p = table.parts.get(n);
  if (!p) throw new Error(`no partition ${n}`);
  await execa('dd', [
    `if=${raw}`,
    `of=${out}`,
    'bs=4M',
    'iflag=skip_bytes,count_bytes',
    'conv=sparse',
    `skip=${p.first * 512}`,
    `count=${(p.last - p.first + 1) * 512}`,
    'status=none',
  ]);
}

/** Convert a QCOW2 to raw in `dir`, hand its partitions to `fn`, clean up. */
export async function withQcow2Partitions<T>(
  qcow2: string,
  dir: string,
  numbers: number[],
  fn: (files: Map<number, string>, table: PartitionTable) => Promise<T>,
): Promise<T> {
  const raw = path.join(dir, `${path.basename(qcow2)}.raw`);
  const files = new Map<number, string>();
  try {
    await execa('qemu-img', ['convert', '-O', 'raw', qcow2, raw]);
    const table = await partitionTable(raw);
    for (const n of numbers) {
      const f = path.join(dir, `${path.basename(qcow2)}.p${n}`);
      await extractPartition(raw, table, n, f);
      files.set(n, f);
    }
    return await fn(files, table);
  } finally {
    rmSync(raw, { force: true });
    for (const f of files.values()) rmSync(f, { force: true });
  }
}

/** `debugfs -R "cat FILE"` on an ext4 image. */
export async function ext4Cat(image: string, file: string): Promise<string> {
  return (await execa('debugfs', ['-R', `cat ${file}`, image])).stdout;
}
