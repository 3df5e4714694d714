import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import tar, { type Header } from 'tar-stream';
import type { Runner } from '../run/runner.ts';

/**
 * Opaque folders of an overlayfs upper layer: a folder removed and made again in the merged
 * view is marked `trusted.overlay.opaque=y` and hides everything below it in the lower layers.
 * Node cannot read xattrs, so they come from a PAX tar: `sqfs2tar` for a squashfs (inspect),
 * GNU tar over the folders of an upper folder (the ISO stage).
 */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** In-image paths (`/etc/conf.d`) of the folders a PAX tar marks opaque (`y`; the kernel's `x` is not opaque). */
export async function opaqueInTar(bytes: Buffer): Promise<Set<string>> {
  const found = new Set<string>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header: Header, stream, next) => {
      const pax = header.pax as Record<string, string> | null | undefined;
      if (header.type === 'directory' && pax?.[`SCHILY.xattr.${OPAQUE_XATTR}`] === 'y')
        found.add(`/${header.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '')}`);
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(bytes);
  await done;
  return found;
}

/** Every folder below `dir` (not `dir` itself), as `./a/b`, without following links. */
export function foldersBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      if (!lstatSync(path.join(dir, r)).isDirectory()) continue;
      out.push(`./${r}`);
      walk(r);
    }
  };
  walk('');
  return out;
}

/** GNU tar argv archiving the folders named on stdin (NUL-separated, verbatim) with their opaque mark only. */
export function opaqueTarArgv(dir: string): string[] {
  return [
    'tar',
    '--create',
    '--file=-',
    '--format=posix',
    '--xattrs',
    `--xattrs-include=${OPAQUE_XATTR}`,
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    // -C applies to the names after it: before the list
    '-C',
    dir,
    '--files-from=-',
  ];
}

/** The opaque folders of an overlay upper folder (in-image paths): folders only are archived, no file data. */
export async function opaqueFoldersOf(runner: Runner, dir: string): Promise<Set<string>> {
  const folders = foldersBelow(dir);
  if (!folders.length) return new Set();
  const r = await runner.run(opaqueTarArgv(dir), {
    input: folders.map((f) => `${f}\0`).join(''),
    binary: true,
    context: `reading the opaque folders of ${dir}`,
  });
  return opaqueInTar(r.stdoutBytes ?? Buffer.alloc(0));
}
