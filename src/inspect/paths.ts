/**
 * Path lookup inside an image (pure but for the injected `lstat`): every component is looked up
 * without following it, symbolic links are followed the way the booted system's kernel does
 * (absolute targets from the image's root, relative ones from the link's folder, at most 40).
 */
import type { Entry } from './entries.ts';

export type Lstat = (p: string) => Promise<Entry | undefined>;
export type Readlink = (p: string) => Promise<string>;

export type Resolution =
  | { found: true; path: string; entry: Entry }
  /** `at` is the first path that is missing (or, with `notFolder`, the non-folder in the way). */
  | { found: false; at: string; notFolder?: boolean; loop?: boolean };

const MAX_LINKS = 40;
const parts = (p: string) => p.split('/').filter((c) => c && c !== '.');
const join = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
const parent = (p: string) => (p === '/' ? '/' : p.slice(0, p.lastIndexOf('/')) || '/');

export async function resolvePath(
  p: string,
  lstat: Lstat,
  readlink: Readlink,
  followLast = true,
): Promise<Resolution> {
  const todo = parts(p);
  let cur = '/';
  let links = 0;
  let entry = await lstat('/');
  if (!entry) return { found: false, at: '/' };
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '..') {
      cur = parent(cur);
      entry = await lstat(cur);
      continue;
    }
    if (entry?.type !== 'd') return { found: false, at: cur, notFolder: true };
    const next = join(cur, c);
    const e = await lstat(next);
    if (!e) return { found: false, at: next };
    if (e.type === 'l' && (todo.length || followLast)) {
      if (++links > MAX_LINKS) return { found: false, at: next, loop: true };
      const target = e.target ?? (await readlink(next));
      if (target.startsWith('/')) {
        cur = '/';
        entry = await lstat('/');
      }
      todo.unshift(...parts(target));
      continue;
    }
    cur = next;
    entry = e;
  }
  return { found: true, path: cur, entry: entry! };
}

/** Normal form of an absolute path in an image: no `.`, no empty components (`..` is kept for the lookup). */
export function normalPath(p: string): string {
  return `/${parts(p).join('/')}`;
}

/** A read-only view of an image's root filesystem, as the booted system sees it. */
export interface ImageFs {
  /** The entry at a path whose folders are no links; undefined when absent. */
  lstat: Lstat;
  /** A link's target, when `lstat` did not give it. */
  readlink: Readlink;
  /** The bytes of the regular file at a resolved path. */
  read(p: string): Promise<Buffer>;
  /** The entries of the folder at a resolved path, by name. */
  list(dir: string): Promise<Map<string, Entry>>;
  /** Why a path is absent, when the reader can tell (`deleted by config-iso.squashfs`). */
  whyAbsent?(p: string): string | undefined;
}
