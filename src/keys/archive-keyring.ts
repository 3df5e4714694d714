/**
 * The distro archive keyring without a manual step. A host keyring (e.g.
 * /usr/share/keyrings/ubuntu-archive-keyring.gpg) is used as it is; when the host lacks it and the
 * distro descriptor names its keyring package (`archiveKeyring`), the keyring is taken from the
 * archive itself and trusted only for the pinned keys:
 *
 *   1. download `dists/<suite>/InRelease` and `<component>/binary-<arch>/Packages.gz` (the
 *      release suite, then the updates suites) and find the keyring package's stanza;
 *   2. download the .deb, unpack it (dpkg-deb -x), list the keyring's keys: every pinned
 *      fingerprint must be there, or it is refused;
 *   3. export only the pinned keys into a new binary keyring;
 *   4. close the loop: the InRelease must verify (gpgv) with that keyring, the Packages.gz must
 *      have the SHA256 the signed InRelease gives it, and the .deb the SHA256 of its stanza;
 *   5. only then write `<cache>/keyrings/<name>` (atomically).
 *
 * Everything else (a missing key, other keys only, a bad signature, a hash mismatch) is refused
 * with an error naming the cause. Downloads go through the build's proxy settings.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ArchiveKeyring, Distro } from '../distro/types.ts';
import { CommandError, HostNotReadyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Runner } from '../run/runner.ts';
import { download, writeFileAtomic } from '../sys/download.ts';
import { sha256Text } from '../sys/files.ts';
import { exportKeys, listKeys, verifyClearSigned } from './gpg.ts';
import { comparePinned, formatFingerprint, type ListedKey } from './openpgp.ts';

/** One paragraph of a deb822 file (Packages, Release), field names as written. Pure. */
export function parseStanzas(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const para of text.replace(/\r/g, '').split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const line of para.split('\n')) {
      if (/^[ \t]/.test(line) && last !== undefined) fields[last] += `\n${line.trim()}`;
      else {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
        if (m?.[1] !== undefined) {
          last = m[1];
          fields[last] = m[2] ?? '';
        }
      }
    }
    if (Object.keys(fields).length) out.push(fields);
  }
  return out;
}

export interface IndexedPackage {
  version: string;
  /** Path of the .deb below the mirror (`pool/...`). */
  filename: string;
  sha256: string;
  size: number;
}

/** The stanza of `name` in a Packages index (the highest version when several). Pure. */
export function findPackage(packagesText: string, name: string): IndexedPackage | undefined {
  const found = parseStanzas(packagesText)
    .filter((s) => s.Package === name && s.Filename && /^[0-9a-f]{64}$/i.test(s.SHA256 ?? ''))
    .map((s) => ({
      version: s.Version ?? '',
      filename: s.Filename as string,
      sha256: (s.SHA256 as string).toLowerCase(),
      size: Number(s.Size),
    }));
  return found.sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true })).at(-1);
}

/** The SHA256 a Release file gives one of its index files, e.g. main/binary-amd64/Packages.gz. Pure. */
export function releaseSha256(releaseText: string, file: string): string | undefined {
  const release = parseStanzas(releaseText)[0];
  for (const line of (release?.SHA256 ?? '').split('\n')) {
    const [hash, , name] = line.trim().split(/\s+/);
    if (name === file && hash && /^[0-9a-f]{64}$/i.test(hash)) return hash.toLowerCase();
  }
  return undefined;
}

/** A pool path from an index must stay below the mirror. Pure. */
export function safePoolPath(filename: string): boolean {
  return /^pool\/[A-Za-z0-9+._~/-]+\.deb$/.test(filename) && !filename.split('/').includes('..');
}

/** Why the keys of a keyring package cannot be trusted, or undefined when every pinned key is there. Pure. */
export function keyringProblem(listed: readonly ListedKey[], pinned: readonly string[]): string | undefined {
  const { missing, others } = comparePinned(listed, pinned);
  if (missing.length === 0) return undefined;
  const held = others.length ? others.map(formatFingerprint).join(', ') : 'no usable key';
  return `it lacks the pinned archive signing key${missing.length > 1 ? 's' : ''} ${missing.map(formatFingerprint).join(', ')} (it holds ${held})`;
}

export interface ArchiveKeyringContext {
  runner: Runner;
  logger?: Logger;
  /** `<cache>/keyrings`: where an obtained keyring is kept. */
  dir: string;
  /** Proxy settings (src/proxy.ts). */
  env?: Record<string, string>;
  /** The host keyring to prefer (default hostKeyringPath); tests point it elsewhere. */
  hostKeyring?: string;
}

/**
 * Where the host's keyring of `distro` is: its `keyring`, or the same file name in
 * $IB_NATIVE_HOST_KEYRING_DIR (tests use it to take the archive path on any host).
 */
export function hostKeyringPath(distro: Distro, env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.IB_NATIVE_HOST_KEYRING_DIR;
  return dir ? path.join(dir, path.basename(distro.keyring)) : distro.keyring;
}

/** `<cache>/keyrings` of a cache folder. */
export const keyringsDir = (cacheDir: string): string => path.join(cacheDir, 'keyrings');

/** Where an obtained keyring of `distro` is kept. */
export const cachedKeyringPath = (dir: string, distro: Distro): string =>
  path.join(dir, path.basename(distro.keyring));

/**
 * The keyring file the bootstrapper verifies the archive with: the host's, else one obtained
 * earlier (re-checked to hold exactly the pinned keys), else one obtained now from the archive.
 */
export async function ensureArchiveKeyring(distro: Distro, ctx: ArchiveKeyringContext): Promise<string> {
  const host = ctx.hostKeyring ?? hostKeyringPath(distro);
  if (existsSync(host)) return host;
  const spec = distro.archiveKeyring;
  if (!spec)
    throw new HostNotReadyError(`the ${distro.name} archive keyring is missing: ${host}`, distro.keyringHint);
  const cached = cachedKeyringPath(ctx.dir, distro);
  if (existsSync(cached)) {
    const { missing, others } = comparePinned(await listKeys(ctx.runner, cached), spec.fingerprints);
    if (missing.length === 0 && others.length === 0) return cached;
    ctx.logger?.warn(`${cached} does not hold exactly the pinned archive keys; obtaining it again`);
  }
  ctx.logger?.info(
    `${distro.name}: ${host} is missing; obtaining the keyring from ${spec.package} of ${distro.mirror}`,
  );
  const bytes = await fetchArchiveKeyring(distro, spec, ctx);
  mkdirSync(ctx.dir, { recursive: true });
  writeFileAtomic(cached, bytes);
  return cached;
}

const refuse = (distro: Distro, why: string) =>
  new HostNotReadyError(
    `the ${distro.name} archive keyring from ${distro.mirror} is refused: ${why}`,
    'this is not the archive ib-native trusts (a wrong --mirror, a proxy rewriting content, or tampering); check --mirror and --proxy, or install the keyring on the host (see README "Troubleshooting")',
  );

/** Steps 1-4 above, in a temporary folder; returns the binary keyring of the pinned keys. */
async function fetchArchiveKeyring(
  distro: Distro,
  spec: ArchiveKeyring,
  ctx: ArchiveKeyringContext,
): Promise<Buffer> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ib-native-keyring-'));
  const get = async (rel: string, dest: string) => {
    const url = `${distro.mirror}/${rel}`;
    try {
      await download(ctx.runner, url, dest, ctx.env, `downloading ${url}`);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      const last = e.stderrTail.split('\n').filter(Boolean).at(-1) ?? `curl exit code ${e.exitCode}`;
      throw new HostNotReadyError(
        `the ${distro.name} archive keyring is missing (${distro.keyring}) and could not be obtained: ${url}: ${last}`,
        distro.keyringHint,
      );
    }
  };
  try {
    const index = `${spec.component}/binary-${distro.arch}/Packages.gz`;
    let found: { suite: string; pkg: IndexedPackage } | undefined;
    for (const suite of [distro.suite, ...distro.updatesSuites]) {
      const dir = path.join(tmp, suite);
      mkdirSync(dir);
      await get(`dists/${suite}/InRelease`, path.join(dir, 'InRelease'));
      await get(`dists/${suite}/${index}`, path.join(dir, 'Packages.gz'));
      let text: string;
      try {
        text = gunzipSync(readFileSync(path.join(dir, 'Packages.gz'))).toString('utf8');
      } catch {
        throw refuse(distro, `dists/${suite}/${index} is not a gzip file`);
      }
      const pkg = findPackage(text, spec.package);
      if (pkg) {
        found = { suite, pkg };
        break;
      }
    }
    if (!found)
      throw refuse(
        distro,
        `no ${spec.package} package in ${[distro.suite, ...distro.updatesSuites].map((s) => `dists/${s}/${index}`).join(' or ')}`,
      );
    const { suite, pkg } = found;
    if (!safePoolPath(pkg.filename))
      throw refuse(distro, `its index names an unusable file "${pkg.filename}"`);
    const deb = path.join(tmp, 'keyring.deb');
    await get(pkg.filename, deb);
    const unpacked = path.join(tmp, 'unpacked');
    await ctx.runner.run(['dpkg-deb', '-x', deb, unpacked], {
      context: `unpacking ${path.basename(pkg.filename)}`,
    });
    const file = path.join(unpacked, spec.file);
    if (!existsSync(file) || !lstatSync(file).isFile())
      throw refuse(distro, `${path.basename(pkg.filename)} has no regular file /${spec.file}`);
    const problem = keyringProblem(await listKeys(ctx.runner, file), spec.fingerprints);
    if (problem) throw refuse(distro, `/${spec.file} of ${path.basename(pkg.filename)}: ${problem}`);

    // only the pinned keys, then the loop closed with them
    const pinned = await exportKeys(ctx.runner, file, spec.fingerprints);
    const keyring = path.join(tmp, 'pinned.gpg');
    writeFileSync(keyring, pinned);
    const { missing, others } = comparePinned(await listKeys(ctx.runner, keyring), spec.fingerprints);
    if (missing.length || others.length)
      throw refuse(distro, 'the exported keyring does not hold exactly the pinned keys');
    const release = path.join(tmp, suite, 'Release');
    const v = await verifyClearSigned(ctx.runner, keyring, path.join(tmp, suite, 'InRelease'), release);
    if (v.error || !v.signers.every((s) => spec.fingerprints.includes(s)))
      throw refuse(
        distro,
        `dists/${suite}/InRelease is not signed by the pinned keys (${v.error ?? 'other signer'})`,
      );
    const releaseText = readFileSync(release, 'utf8');
    const want = releaseSha256(releaseText, index);
    const got = sha256Text(readFileSync(path.join(tmp, suite, 'Packages.gz')));
    if (want !== got)
      throw refuse(
        distro,
        `dists/${suite}/${index} has SHA256 ${got}, the signed InRelease says ${want ?? 'nothing'}`,
      );
    const debSha = sha256Text(readFileSync(deb));
    if (debSha !== pkg.sha256)
      throw refuse(distro, `${pkg.filename} has SHA256 ${debSha}, the signed index says ${pkg.sha256}`);
    ctx.logger?.info(
      `${distro.name}: archive keyring from ${pkg.filename} (${pkg.version}), keys ${spec.fingerprints.map(formatFingerprint).join(', ')}`,
    );
    return pinned;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
