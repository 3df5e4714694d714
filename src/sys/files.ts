import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  lstatSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { InternalError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';
import { type MountInfoReader, mountsUnder, realPath, selfMountInfo } from './mounts.ts';
import { pidAlive } from './pid.ts';

/**
 * Remove a folder tree without ever crossing into a mount inside it: mounts below are
 * unmounted first (they are ours, in our namespace) and `rm --one-file-system` refuses to
 * descend into anything still mounted.
 */
export async function removeTree(
  runner: Runner,
  dir: string,
  info: MountInfoReader = selfMountInfo,
): Promise<void> {
  if (!existsSync(dir)) return;
  // the folder as the kernel names it: mountinfo shows no links, and rm must not stop at one
  const real = realPath(dir);
  const under = mountsUnder(real, info).sort((a, b) => b.length - a.length);
  for (const m of under)
    await runner.run(['umount', '--recursive', m], { critical: true }).catch(() => undefined);
  const still = mountsUnder(real, info);
  if (still.length)
    throw new InternalError(`refusing to remove ${dir}: still mounted below it: ${still.join(', ')}`);
  await runner.run(['rm', '-rf', '--one-file-system', '--', real], { critical: true });
  // a link that led there goes too
  if (lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(dir, { force: true });
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  // large reads: a sparse raw disk is gigabytes of holes, and 64 KiB chunks make hashing it crawl
  for await (const chunk of createReadStream(file, { highWaterMark: 8 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A temporary name beside the final one; renamed into place only on success. */
export function asideName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.partial-${process.pid}`);
}

/** The name an output folder's previous version is moved to during `commit()`, then removed. */
function previousName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.previous-${process.pid}`);
}

/**
 * sha256sum lines of every file in a folder (byte order, subfolders walked), each named
 * `<name>/<path>` so that `sha256sum -c` checks them from the folder's parent. Links are refused.
 */
export async function folderSums(dir: string, name: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = readdirSync(path.join(dir, rel)).sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(path.join(dir, r));
      if (st.isDirectory()) await walk(r);
      else if (st.isFile()) lines.push(`${await sha256File(path.join(dir, r))}  ${name}/${r}`);
      else throw new InternalError(`output folder ${dir} holds ${r}, neither a file nor a folder`);
    }
  };
  await walk('');
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * The outputs of a build, each written beside its final name (`asideName`) and renamed into
 * place together by `commit()` once everything is written. An output may be a folder (the pxe
 * artifact): its previous version is moved aside before the new one is renamed in, and removed
 * after, all in the same synchronous step. `commit()` is synchronous, so no
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

  /**
   * sha256 of the staged file, staged as `<final>.sha256` (sha256sum format) too. For a folder,
   * `<final>.sha256` lists each of its files (see folderSums) and the sha256 returned is that list's.
   */
  async checksum(finalPath: string): Promise<string> {
    const aside = this.aside(finalPath);
    if (statSync(aside).isDirectory()) {
      const list = await folderSums(aside, path.basename(finalPath));
      this.write(`${finalPath}.sha256`, list);
      return sha256Text(list);
    }
    const sum = await sha256File(aside);
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
    const previous: string[] = [];
    for (const [finalPath, aside] of this.staged) {
      // rename() cannot replace a folder that holds files: move the old one out of the way first
      if (lstatSync(finalPath, { throwIfNoEntry: false })?.isDirectory()) {
        renameSync(finalPath, previousName(finalPath));
        previous.push(previousName(finalPath));
      }
      renameSync(aside, finalPath);
    }
    for (const p of previous) rmSync(p, { recursive: true, force: true });
    for (const f of this.stale) if (!this.staged.has(f)) rmSync(f, { force: true, recursive: true });
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

/** Bytes of a tree, apparent (or allocated), walking it without following links or crossing mounts. */
export function duBytes(dir: string, allocated = false): number {
  let total = 0;
  const stack = [dir];
  const dev = statSync(dir).dev;
  while (stack.length) {
    const d = stack.pop()!;
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(d, n);
      try {
        const l = lstatSync(p);
        if (l.isSymbolicLink()) continue;
        if (l.isDirectory()) {
          if (l.dev === dev) stack.push(p);
        } else total += allocated ? Number(l.blocks) * 512 : Number(l.size);
      } catch {
        // vanished
      }
    }
  }
  return total;
}
