// Over 300 lines: obtain, leases, prune and listing share the entry layout and its per-entry locks.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import type { Runner } from '../run/runner.ts';
import { duBytes, removeTree, sha256Text } from '../sys/files.ts';
import { CACHE_KINDS } from './kinds.ts';
import { type Lease, liveLeases, takeLease } from './lease.ts';
import { tryLock, withLock } from './lock.ts';
import type { RemoteCache } from './remote.ts';

/**
 * The stage cache. Layout under the cache root:
 *   packages/              .deb files shared by every build (each checked against the signed index before use)
 *   keys/<FPR>.asc|gpg     repo keys downloaded by URL, by pinned fingerprint (src/keys/repo-keys.ts)
 *   keyrings/              archive keyrings the host lacks (src/keys/archive-keyring.ts)
 *   rootfs/<key>/tree      a complete base root filesystem
 *   rootfs/<key>/entry.json  written last: an entry without it is incomplete and never used
 *   locks/<kind>-<key>.lock  one lock per entry being built (or leased, or pruned)
 *   leases/<kind>-<key>/   one file per running build using the entry (src/cache/lease.ts)
 *   leases/shared/         one file per running build using packages/, keys/ and keyrings/
 *   work/<build>/          per-build scratch space (removed at the end)
 *   attachments/           loop/nbd devices in use, for cleanup after a crash
 */
export const DEFAULT_CACHE_DIR = '/var/cache/ib-native';
/** The cache folder of commands without --cache-dir (plan, diff, doctor). */
export const defaultCacheDir = (): string => process.env.IB_NATIVE_CACHE ?? DEFAULT_CACHE_DIR;
export const DEFAULT_MAX_AGE_DAYS = 7;

export interface EntryInfo {
  kind: string;
  key: string;
  createdAt: string;
  /** Human summary of what the key covers. */
  summary: string;
  usedBy: string[];
  /** Disk space the entry took when it was made (absent in entries of older versions). */
  bytes?: number;
}

/** Stable JSON (sorted keys) so that a key depends on content only. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export function contentKey(parts: unknown): string {
  return sha256Text(canonicalJson(parts)).slice(0, 24);
}

/** What `prune` removes: see Cache.prune. */
export interface PruneOptions {
  olderThanDays?: number;
  /** Profile names: entries no other profile used. */
  onlyUsedBy?: readonly string[];
  all?: boolean;
}

/** Whether prune (without `all`) removes an entry (pure); neither criterion given: none. */
export function prunable(e: { ageDays: number; usedBy: readonly string[] }, o: PruneOptions): boolean {
  if (o.olderThanDays === undefined && o.onlyUsedBy === undefined) return false;
  if (o.olderThanDays !== undefined && e.ageDays < o.olderThanDays) return false;
  if (
    o.onlyUsedBy !== undefined &&
    !(e.usedBy.length > 0 && e.usedBy.every((u) => o.onlyUsedBy!.includes(u)))
  )
    return false;
  return true;
}

/** What `prune` removed, and what it kept because a running build uses it. */
export interface PruneResult {
  removed: string[];
  kept: string[];
}

/** The lease name of what packages/, keys/ and keyrings/ hold (shared by every build). */
const SHARED = 'shared';

export class Cache {
  /** The leases this handle holds (released together by `release`). */
  private readonly leases: Lease[] = [];

  constructor(
    readonly root: string,
    private readonly runner: Runner,
    private readonly logger: Logger,
    /** `--cache-from`/`--cache-to`: a missing entry is pulled before it is built; entries are pushed. */
    private readonly remote?: RemoteCache,
  ) {
    for (const d of ['packages', 'locks', 'leases', 'work', 'attachments', ...CACHE_KINDS])
      mkdirSync(path.join(root, d), { recursive: true });
  }

  get packages(): string {
    return path.join(this.root, 'packages');
  }
  get attachments(): string {
    return path.join(this.root, 'attachments');
  }
  entryDir(kind: string, key: string): string {
    return path.join(this.root, kind, key);
  }

  info(kind: string, key: string): EntryInfo | undefined {
    return entryInfo(this.root, kind, key);
  }

  private lockFile(name: string): string {
    return path.join(this.root, 'locks', `${name}.lock`);
  }
  private leaseDir(name: string): string {
    return path.join(this.root, 'leases', name);
  }

  /** Live leases on `name` held by other handles (other builds, in this process or another). */
  private otherUsers(name: string): { pid: number; by: string }[] {
    const mine = new Set(this.leases.map((l) => l.file));
    return liveLeases(this.leaseDir(name)).filter((l) => !mine.has(l.file));
  }

  /**
   * Hold the shared parts (package cache, downloaded keys and keyrings) until `release`, so that
   * `cache prune --all` keeps them while this build runs.
   */
  async useShared(by: string): Promise<void> {
    await withLock(this.lockFile(SHARED), async () => {
      this.leases.push(takeLease(this.leaseDir(SHARED), by));
    });
  }

  /** Let go of every entry this handle obtained (and the shared parts): the build is done with them. */
  release(): void {
    for (const l of this.leases.splice(0)) l.release();
  }

  /**
   * Return the entry for `key`, building it with `build(dir)` when missing (or when `refresh`,
   * or older than `maxAgeMs`). Built aside and renamed into place, under a per-entry lock.
   * With a remote cache, a missing entry is pulled first when the registry has it (`pulled`), and
   * the entry, however obtained, is pushed when the registry lacks it.
   */
  async obtain(
    kind: string,
    key: string,
    opts: { summary: string; usedBy: string; refresh?: boolean; maxAgeMs?: number },
    build: (dir: string) => Promise<void>,
  ): Promise<{ dir: string; hit: boolean; pulled: boolean }> {
    const dir = this.entryDir(kind, key);
    const name = `${kind}-${key}`;
    const lease = () => this.leases.push(takeLease(this.leaseDir(name), opts.usedBy));
    return withLock(
      this.lockFile(name),
      async () => {
        const existing = this.info(kind, key);
        const age = existing ? Date.now() - Date.parse(existing.createdAt) : 0;
        const stale = existing && opts.maxAgeMs !== undefined && age > opts.maxAgeMs;
        const users = existing && (opts.refresh || stale) ? this.otherUsers(name) : [];
        if (users.length)
          this.logger.warn(
            `cache: ${kind} ${key} is in use by a running build (${users.map((u) => `${u.by}, pid ${u.pid}`).join('; ')}); reusing it instead of rebuilding it`,
          );
        if (existing && ((!opts.refresh && !stale) || users.length)) {
          this.markUsed(kind, key, opts.usedBy);
          lease();
          await this.remote?.push(dir, existing);
          return { dir, hit: true, pulled: false };
        }
        if (stale)
          this.logger.info(
            `cache: ${kind} ${key} is ${(age / 86400000).toFixed(1)} days old; rebuilding it (--max-age)`,
          );
        const building = path.join(this.root, kind, `.${key}.building-${process.pid}`);
        await removeTree(this.runner, building);
        mkdirSync(building, { recursive: true });
        let entry: EntryInfo;
        let pulledIt = false;
        try {
          // --refresh asks for new package versions: a pulled entry would be the old ones
          const pulled = opts.refresh
            ? undefined
            : await this.remote?.pull(kind, key, building, opts.maxAgeMs);
          if (!pulled) await build(building);
          entry = {
            kind,
            key,
            // a pulled entry keeps its time: the keys of what is made from it (squashfs, disk) include it
            createdAt: pulled?.createdAt ?? new Date().toISOString(),
            summary: opts.summary,
            usedBy: [opts.usedBy],
            bytes: duBytes(building, true),
          };
          writeFileSync(path.join(building, 'entry.json'), `${JSON.stringify(entry, null, 2)}\n`);
          if (existsSync(dir)) {
            const trash = path.join(this.root, kind, `.${key}.old-${process.pid}`);
            renameSync(dir, trash);
            renameSync(building, dir);
            await removeTree(this.runner, trash);
          } else {
            renameSync(building, dir);
          }
          pulledIt = pulled !== undefined;
        } catch (e) {
          await removeTree(this.runner, building).catch(() => undefined);
          throw e;
        }
        lease();
        // a pulled entry too: --cache-from and --cache-to may name different registries
        await this.remote?.push(dir, entry);
        return { dir, hit: false, pulled: pulledIt };
      },
      () => this.logger.info(`cache: waiting for another build that is making ${kind} ${key}`),
    );
  }

  private markUsed(kind: string, key: string, by: string): void {
    const f = path.join(this.entryDir(kind, key), 'entry.json');
    const e = this.info(kind, key);
    if (!e || e.usedBy.includes(by)) return;
    e.usedBy = [...e.usedBy, by].slice(-20);
    writeFileSync(f, `${JSON.stringify(e, null, 2)}\n`);
  }

  list(): (EntryInfo & { bytes: number; ageDays: number })[] {
    const out: (EntryInfo & { bytes: number; ageDays: number })[] = [];
    for (const kind of CACHE_KINDS) {
      const d = path.join(this.root, kind);
      if (!existsSync(d)) continue;
      for (const key of readdirSync(d).filter((n) => !n.startsWith('.'))) {
        const e = this.info(kind, key);
        if (!e) continue;
        out.push({
          ...e,
          bytes: duBytes(this.entryDir(kind, key)),
          ageDays: (Date.now() - Date.parse(e.createdAt)) / 86400000,
        });
      }
    }
    return out;
  }

  /**
   * Remove entries older than `olderThanDays`, or used by none but the `onlyUsedBy` profiles
   * (both, when both are given), or all, and the shared parts, with `all`. An entry a running
   * build holds (leased, or locked while being made or taken) is kept and reported; so are the
   * shared parts while any build runs.
   */
  async prune(opts: PruneOptions): Promise<PruneResult> {
    const removed: string[] = [];
    const kept: string[] = [];
    /** Remove under `name`'s lock unless a running build holds it (`remove` says what went). */
    const unlessInUse = async (name: string, what: string, remove: () => Promise<string[]>) => {
      const lock = this.lockFile(name);
      if (!tryLock(lock)) {
        kept.push(`${what} being made or taken by a running build, kept`);
        return;
      }
      try {
        const users = liveLeases(this.leaseDir(name));
        if (users.length) {
          kept.push(`${what} in use by a running build (${users.map((u) => u.by).join(', ')}), kept`);
          return;
        }
        removed.push(...(await remove()));
        rmSync(this.leaseDir(name), { recursive: true, force: true });
      } finally {
        rmSync(lock, { force: true });
      }
    };
    for (const e of this.list()) {
      if (!opts.all && !prunable(e, opts)) continue;
      const what = `${e.kind}/${e.key}`;
      await unlessInUse(`${e.kind}-${e.key}`, what, async () => {
        await removeTree(this.runner, this.entryDir(e.kind, e.key));
        return [what];
      });
    }
    if (opts.all)
      // the package cache, downloaded keys and keyrings: obtained (and checked) again by the next build
      await unlessInUse(SHARED, 'packages, keys and keyrings', async () => {
        await removeTree(this.runner, this.packages);
        mkdirSync(this.packages, { recursive: true });
        const gone = ['packages'];
        for (const d of ['keys', 'keyrings'])
          if (existsSync(path.join(this.root, d))) {
            await removeTree(this.runner, path.join(this.root, d));
            gone.push(d);
          }
        return gone;
      });
    return { removed, kept };
  }
}

/** A complete entry's description (read without creating anything), or undefined. */
export function entryInfo(root: string, kind: string, key: string): EntryInfo | undefined {
  const f = path.join(root, kind, key, 'entry.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as EntryInfo) : undefined;
}
