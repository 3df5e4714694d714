/**
 * Repo keys (`repos[].key`) made local and checked before any work: a key file must be an
 * OpenPGP public key; a `{ url, fingerprint }` key is downloaded (through the proxy), refused
 * unless its primary fingerprint is the pinned one, and only then cached under
 * `<cache>/keys/<FINGERPRINT>.asc|.gpg`. A refused key writes nothing into the cache.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommandError, UserError } from '../errors.ts';
import type { Repo, RepoKey } from '../profile/schema.ts';
import type { Runner } from '../run/runner.ts';
import { download, writeFileAtomic } from '../sys/download.ts';
import { listKeys } from './gpg.ts';
import { formatFingerprint, isArmored, keyFileProblem } from './openpgp.ts';

/** A repo whose key is a file on this host: the profile's key file, or a fetched key in the cache. */
export type LocalRepo = Omit<Repo, 'key'> & { key?: string };

/** Turns a profile's repos into local ones (checking, and fetching what it may). */
export type KeyResolver = (repos: readonly Repo[]) => Promise<LocalRepo[]>;

export interface RepoKeyContext {
  runner: Runner;
  /** Where fetched keys are kept: `<cache>/keys`. */
  dir: string;
  /** Proxy settings for the download (src/proxy.ts). */
  env?: Record<string, string>;
  /** Download keys again even when cached (`--refresh`). */
  refresh?: boolean;
}

/** Key files larger than this are not keys (a keyring of a few keys is a few KiB). */
const MAX_KEY_BYTES = 1024 * 1024;

/** `<dir>/keys` for a cache folder. */
export const keysDir = (cacheDir: string): string => path.join(cacheDir, 'keys');

/** The cached file of a pinned key, armored or binary, if there is one. */
export function cachedKey(dir: string, fingerprint: string): string | undefined {
  return ['asc', 'gpg'].map((ext) => path.join(dir, `${fingerprint}.${ext}`)).find((f) => existsSync(f));
}

export function repoKeyResolver(ctx: RepoKeyContext): KeyResolver {
  return async (repos) => {
    const out: LocalRepo[] = [];
    for (const [i, r] of repos.entries()) out.push({ ...r, key: await localKey(ctx, r, i) });
    return out;
  };
}

/**
 * Without checks or network: key files as they are, URL keys from the cache (for callers that
 * only compute a plan, e.g. tests; the CLI's commands use repoKeyResolver).
 */
export function cachedKeyResolver(dir: string): KeyResolver {
  return async (repos) =>
    repos.map((r, i) => {
      if (r.key === undefined || typeof r.key === 'string') return { ...r, key: r.key };
      const cached = cachedKey(dir, r.key.fingerprint);
      if (!cached)
        throw new UserError(
          `${field(r, i)}: the key at ${r.key.url} has not been downloaded yet`,
          '`ib-native plan` or `ib-native build` downloads and checks it',
        );
      return { ...r, key: cached };
    });
}

const field = (r: Repo, i: number) => `repos[${i}].key (repo "${r.name}")`;

async function localKey(ctx: RepoKeyContext, r: Repo, i: number): Promise<string | undefined> {
  const key: RepoKey | undefined = r.key;
  if (key === undefined) return undefined;
  if (typeof key === 'string') {
    await checkKeyFile(ctx.runner, key, field(r, i));
    return key;
  }
  const cached = cachedKey(ctx.dir, key.fingerprint);
  if (cached && !ctx.refresh) {
    const problem = keyFileProblem(await listKeys(ctx.runner, cached), cached, key.fingerprint);
    if (!problem) return cached;
    // a damaged cache entry is fetched again
    rmSync(cached, { force: true });
  }
  return fetchPinnedKey(ctx, key, field(r, i));
}

/** A key file must be a regular file holding OpenPGP public keys; its content is never shown. */
async function checkKeyFile(runner: Runner, file: string, what: string): Promise<void> {
  if (!existsSync(file) || !statSync(file).isFile())
    throw new UserError(`${what}: key file ${file} not found`, "put the repo's OpenPGP public key there");
  if (statSync(file).size > MAX_KEY_BYTES)
    throw new UserError(
      `${what}: ${file} is not an OpenPGP public key (larger than ${MAX_KEY_BYTES} bytes)`,
      'give the repo signing key exported with `gpg --armor --export KEYID`',
    );
  const problem = keyFileProblem(await listKeys(runner, file), file);
  if (problem)
    throw new UserError(
      `${what}: ${problem}`,
      'give the repo signing key exported with `gpg --armor --export KEYID`',
    );
}

async function fetchPinnedKey(
  ctx: RepoKeyContext,
  key: { url: string; fingerprint: string },
  what: string,
): Promise<string> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ib-native-key-'));
  const got = path.join(tmp, 'key');
  let keep = false;
  try {
    try {
      await download(ctx.runner, key.url, got, ctx.env, `downloading the repo key ${key.url}`);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      const last = e.stderrTail.split('\n').filter(Boolean).at(-1) ?? `curl exit code ${e.exitCode}`;
      throw new UserError(
        `${what}: could not download ${key.url}: ${last}`,
        'check the URL and the network (give --proxy when the build host needs one)',
      );
    }
    if (statSync(got).size > MAX_KEY_BYTES)
      throw new UserError(
        `${what}: ${key.url} is not an OpenPGP public key (larger than ${MAX_KEY_BYTES} bytes)`,
        'check the URL: it must serve the repo signing key',
      );
    const problem = keyFileProblem(await listKeys(ctx.runner, got), key.url, key.fingerprint);
    if (problem)
      throw new UserError(
        `${what}: ${problem}; refused`,
        `check the URL and the fingerprint the repository publishes (expected ${formatFingerprint(key.fingerprint)}); after a key rotation, verify the new key and pin its fingerprint`,
      );
    const content = readFileSync(got);
    const dest = path.join(ctx.dir, `${key.fingerprint}.${isArmored(content) ? 'asc' : 'gpg'}`);
    try {
      mkdirSync(ctx.dir, { recursive: true });
      writeFileAtomic(dest, content);
      for (const other of ['asc', 'gpg'].map((x) => path.join(ctx.dir, `${key.fingerprint}.${x}`)))
        if (other !== dest) rmSync(other, { force: true });
      return dest;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw e;
      // a cache this user may not write (plan as non-root): use the checked copy for this process
      keep = true;
      const local = path.join(tmp, path.basename(dest));
      writeFileAtomic(local, content);
      rmSync(got, { force: true });
      process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
      return local;
    }
  } finally {
    if (!keep) rmSync(tmp, { recursive: true, force: true });
  }
}
