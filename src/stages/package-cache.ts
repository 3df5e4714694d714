/**
 * The shared package cache against the signed index.
 *
 * apt reuses a .deb already in /var/cache/apt/archives when its *size* matches the index and
 * never hashes it; with one cache shared by every build, a repository that republished a package
 * under the same name, version and size (a rebuilt internal package, a tampered file) would be
 * installed from the stale copy unverified. Before each install we ask apt for the SHA256 that the
 * freshly fetched, signature-checked index gives each package it is about to fetch, and remove
 * every cached file that does not match, so apt downloads (and verifies) it again.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { sha256File } from '../sys/files.ts';
import type { Chroot } from './chroot.ts';

export interface IndexedDeb {
  file: string;
  size: number;
  sha256: string;
}

/**
 * Parse `apt-get --print-uris` output (`'URI' FILE SIZE SHA256:HEX` per line). Lines without a
 * SHA256 (apt prints the strongest hash it has; Acquire::ForceHash=SHA256 makes it that one) are
 * skipped: nothing to compare against. Pure.
 */
export function parsePrintUris(text: string): IndexedDeb[] {
  const out: IndexedDeb[] = [];
  for (const line of text.split('\n')) {
    const m = /^'[^']+'\s+(\S+\.deb)\s+(\d+)\s+SHA256:([0-9a-f]{64})\s*$/i.exec(line.trim());
    if (m?.[1] && m[2] && m[3]) out.push({ file: m[1], size: Number(m[2]), sha256: m[3].toLowerCase() });
  }
  return out;
}

/** Cached files (name -> their sha256) that the index disagrees with. Pure. */
export function staleCachedDebs(
  indexed: readonly IndexedDeb[],
  cached: ReadonlyMap<string, string>,
): string[] {
  return indexed.filter((d) => cached.has(d.file) && cached.get(d.file) !== d.sha256).map((d) => d.file);
}

/** argv (inside the chroot) that lists every package of `pkgs`' install as if nothing were cached. */
export function printUrisArgv(pkgs: readonly string[], emptyArchives: string): string[] {
  return [
    'apt-get',
    '-qq',
    '-y',
    '--print-uris',
    '--no-install-recommends',
    '-o',
    'Acquire::ForceHash=SHA256',
    '-o',
    `Dir::Cache::Archives=${emptyArchives}`,
    'install',
    ...pkgs,
  ];
}

/**
 * Remove from `packageCache` every .deb that `pkgs`' install would use and whose content is not
 * what the signed index says. Call after `apt-get update`, inside an open chroot. Returns the
 * removed file names.
 */
export async function dropUnverifiedDebs(
  c: Chroot,
  packageCache: string,
  pkgs: readonly string[],
  logger: Logger,
): Promise<string[]> {
  const inImage = '/run/ib-native/empty-archives';
  mkdirSync(path.join(c.root, inImage, 'partial'), { recursive: true });
  let indexed: IndexedDeb[];
  try {
    const r = await c.run(printUrisArgv(pkgs, inImage), {
      context: 'resolving the package set against the index',
    });
    indexed = parsePrintUris(r.stdout);
  } finally {
    rmSync(path.join(c.root, inImage), { recursive: true, force: true });
  }
  const cached = new Map<string, string>();
  for (const d of indexed) {
    const file = path.join(packageCache, d.file);
    // a size mismatch apt handles itself (it deletes and downloads); equal sizes it trusts
    if (existsSync(file) && statSync(file).size === d.size) cached.set(d.file, await sha256File(file));
  }
  const stale = staleCachedDebs(indexed, cached);
  for (const f of stale) rmSync(path.join(packageCache, f), { force: true });
  if (stale.length)
    logger.warn(
      `package cache: ${stale.length} cached package(s) differ from the signed index and will be downloaded again: ${stale.join(', ')}`,
    );
  logger.info(
    `package cache: ${cached.size - stale.length} of ${indexed.length} packages verified in the cache`,
  );
  return stale;
}
