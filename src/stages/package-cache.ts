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
import { CommandError } from '../errors.ts';
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

/**
 * argv (inside the chroot) that lists every package of `pkgs`' install as if nothing were cached.
 * `reinstall`: packages already installed are listed too (`name=version` checks the base's own files).
 */
export function printUrisArgv(pkgs: readonly string[], emptyArchives: string, reinstall = false): string[] {
  return [
    'apt-get',
    '-qq',
    '-y',
    '--print-uris',
    '--no-install-recommends',
    ...(reinstall ? ['--reinstall'] : []),
    '-o',
    'Acquire::ForceHash=SHA256',
    '-o',
    `Dir::Cache::Archives=${emptyArchives}`,
    'install',
    ...pkgs,
  ];
}

/** argv (inside the chroot) listing what dpkg has installed, one `name:arch=version` per line. */
export const DPKG_INSTALLED_ARGV = [
  'dpkg-query',
  '--show',
  '--showformat',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a JS template
  '${db:Status-Abbrev}${binary:Package}=${Version}\n',
];

/** `name:arch=version` of every installed package in dpkg-query's output (DPKG_INSTALLED_ARGV). Pure. */
export function parseInstalled(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^ii\s+(\S+=\S+)$/.exec(l.trim())?.[1])
    .filter((x): x is string => x !== undefined);
}

/**
 * Remove from `packageCache` every .deb that `pkgs`' install would use and whose content is not
 * what the signed index says. Call after `apt-get update`, inside an open chroot. Returns the
 * removed file names.
 */
export function dropUnverifiedDebs(
  c: Chroot,
  packageCache: string,
  pkgs: readonly string[],
  logger: Logger,
): Promise<string[]> {
  return dropStale(c, packageCache, pkgs, false, logger, 'packages');
}

/**
 * The base the bootstrapper installed from the shared cache (mmdebstrap hands the cache to apt,
 * which reuses a file of the right size unhashed): each installed package's cached file against the
 * signed index. Call after `apt-get update`, before anything else is installed. Returns the files
 * that differed (removed from the cache): the base must then be made again.
 */
export async function verifyBaseDebs(c: Chroot, packageCache: string, logger: Logger): Promise<string[]> {
  const installed = parseInstalled((await c.run(DPKG_INSTALLED_ARGV)).stdout);
  try {
    return await dropStale(c, packageCache, installed, true, logger, 'base packages');
  } catch (e) {
    // a base version the index no longer has (the archive moved on since the bootstrap)
    if (!(e instanceof CommandError)) throw e;
    logger.warn(`package cache: the base could not be checked against the index: ${e.stderrTail.trim()}`);
    return [];
  }
}

async function dropStale(
  c: Chroot,
  packageCache: string,
  pkgs: readonly string[],
  reinstall: boolean,
  logger: Logger,
  what: string,
): Promise<string[]> {
  const inImage = '/run/ib-native/empty-archives';
  mkdirSync(path.join(c.root, inImage, 'partial'), { recursive: true });
  let indexed: IndexedDeb[];
  try {
    const r = await c.run(printUrisArgv(pkgs, inImage, reinstall), {
      context: `resolving the ${what} against the index`,
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
      `package cache: ${stale.length} cached ${what} differ from the signed index and will be downloaded again: ${stale.join(', ')}`,
    );
  logger.info(
    `package cache: ${cached.size - stale.length} of ${indexed.length} ${what} verified in the cache`,
  );
  return stale;
}
