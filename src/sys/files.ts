import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  lstatSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { InternalError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';
import { mountsUnder } from './mounts.ts';
import { pidAlive } from './pid.ts';

/**
 * Remove a folder tree without ever crossing into a mount inside it: mounts below are
 * unmounted first (they are ours, in our namespace) and `rm --one-file-system` refuses to
 * descend into anything still mounted.
 */
export async function removeTree(runner: Runner, dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const under = mountsUnder(dir).sort((a, b) => b.length - a.length);
  for (const m of under)
    await runner.run(['umount', '--recursive', m], { critical: true }).catch(() => undefined);
  const still = mountsUnder(dir);
  if (still.length)
    throw new InternalError(`refusing to remove ${dir}: still mounted below it: ${still.join(', ')}`);
  await runner.run(['rm', '-rf', '--one-file-system', '--', dir], { critical: true });
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

/**
 * The outputs of a build, each written beside its final name (`asideName`) and renamed into
 * place together by `commit()` once everything is written. `commit()` is synchronous, so no
 * SIGINT/SIGTERM handler can run in the middle of it: an interrupted or failed build publishes
 * nothing (the previous images stay, matching their manifest), a finished one everything.
 */
export class Publication {
  private readonly staged = new Map<string, string>();
  private readonly stale = new Set<string>();

  /** The name to write `finalPath` under until commit. */
  aside(finalPath: string): string {
    const aside = asideName(finalPath);
    this.staged.set(finalPath, aside);
    return aside;
  }

  write(finalPath: string, content: string | Buffer): void {
    writeFileSync(this.aside(finalPath), content);
  }

  /** sha256 of the staged file, staged as `<final>.sha256` (sha256sum format) too. */
  async checksum(finalPath: string): Promise<string> {
    const sum = await sha256File(this.aside(finalPath));
    this.write(`${finalPath}.sha256`, `${sum}  ${path.basename(finalPath)}\n`);
    return sum;
  }

  /** An existing file that commit() deletes unless staged again (e.g. a stale signature). */
  dropAtCommit(finalPath: string): void {
    this.stale.add(finalPath);
  }

  /** Rename every staged file into place and delete the stale ones; returns the final paths. */
  commit(): string[] {
    const missing = [...this.staged.values()].filter((a) => !existsSync(a));
    if (missing.length) throw new InternalError(`nothing was written to ${missing.join(', ')}`);
    for (const [finalPath, aside] of this.staged) renameSync(aside, finalPath);
    for (const f of this.stale) if (!this.staged.has(f)) rmSync(f, { force: true });
    const done = [...this.staged.keys()];
    this.staged.clear();
    this.stale.clear();
    return done;
  }

  /** Remove every staged file (after a failure); the final files are untouched. */
  discard(): void {
    discard(...this.staged.values());
    this.staged.clear();
    this.stale.clear();
  }
}

export function discard(...paths: string[]): void {
  for (const p of paths) rmSync(p, { force: true, recursive: true });
}

/** The pid in a work folder's name (`build-PID-...`, `shell-PID-...`, `nocache-PID-...`). Pure. */
export function workFolderPid(name: string): number | undefined {
  const m = /^[a-z]+-(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Remove work folders whose build is gone (killed, or its terminal closed under it): their mounts
 * died with its mount namespace, so only files remain. A folder of a live process is left alone.
 */
export async function sweepStaleWork(
  runner: Runner,
  workDir: string,
  alive: (pid: number) => boolean = pidAlive,
): Promise<string[]> {
  if (!existsSync(workDir)) return [];
  const stale = readdirSync(workDir).filter((n) => {
    const pid = workFolderPid(n);
    return pid !== undefined && pid !== process.pid && !alive(pid);
  });
  for (const n of stale) await removeTree(runner, path.join(workDir, n));
  return stale;
}

/** True when `p` is a symbolic link (not followed); false when it is anything else or absent. */
export function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
