import { createHash } from 'node:crypto';
import { createReadStream, existsSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InternalError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';
import { mountsUnder } from './mounts.ts';

/**
 * Remove a folder tree without ever crossing into a mount inside it: mounts below are
 * unmounted first (they are ours, in our namespace) and `rm --one-file-system` refuses to
 * descend into anything still mounted.
 */
export async function removeTree(runner: Runner, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const under = mountsUnder(dir).sort((a, b) => b.length - a.length);
  for (const m of under) await runner.run(['umount', '--recursive', m]).catch(() => undefined);
  const still = mountsUnder(dir);
  if (still.length)
    throw new InternalError(`refusing to remove ${dir}: still mounted below it: ${still.join(', ')}`);
  await runner.run(['rm', '-rf', '--one-file-system', '--', dir]);
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A temporary name beside the final one; renamed into place only on success. */
export function asideName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.partial-${process.pid}`);
}

/** Publish a finished file atomically, then its `.sha256` (sha256sum format). */
export async function publish(
  tmp: string,
  finalPath: string,
  withChecksum = true,
): Promise<string | undefined> {
  let sum: string | undefined;
  if (withChecksum) {
    sum = await sha256File(tmp);
    const sumTmp = `${tmp}.sha256`;
    writeFileSync(sumTmp, `${sum}  ${path.basename(finalPath)}\n`);
    renameSync(tmp, finalPath);
    renameSync(sumTmp, `${finalPath}.sha256`);
  } else {
    renameSync(tmp, finalPath);
  }
  return sum;
}

export function discard(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true, recursive: true });
}

export function freeBytes(dir: string): number {
  let d = path.resolve(dir);
  while (!existsSync(d)) d = path.dirname(d);
  const s = statfsSync(d);
  return s.bavail * s.bsize;
}
