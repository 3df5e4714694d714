import { lstatSync, lutimesSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';

/**
 * Reproducible timestamps, as https://reproducible-builds.org/docs/source-date-epoch/ asks:
 * `SOURCE_DATE_EPOCH` (seconds since 1970, UTC) stands for "now" in everything a build makes,
 * and files the build writes are clamped to it (a time later than it becomes it; earlier times,
 * such as the package mtimes of the cached rootfs, are kept).
 */

/** SOURCE_DATE_EPOCH in seconds, or undefined when unset or empty. A malformed value is bad input. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,12}$/.test(v))
    throw new UserError(
      `SOURCE_DATE_EPOCH="${v}" is not a number of seconds since 1970`,
      'set it to a Unix time such as `git log -1 --format=%ct`, or unset it',
    );
  return Number(v);
}

/** Environment for a tool that reads SOURCE_DATE_EPOCH (mtools 4.0.32 does): set to it, or removed. */
export function sourceDateEpochEnv(epoch: number | undefined): Record<string, string | undefined> {
  return { SOURCE_DATE_EPOCH: epoch === undefined ? undefined : String(epoch) };
}

/** `t` (seconds) clamped to `epoch`: never later than it. */
export function clampTime(t: number, epoch: number): number {
  return Math.min(t, epoch);
}

/** xorriso's --modification-date form of a time: YYYYMMDDhhmmsscc in UTC. */
export function isoVolumeDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}00`;
}

export interface TreeEntry {
  /** Path relative to the walked root: '' for the root itself, else 'etc/fstab'. */
  rel: string;
  stat: Stats;
}

/**
 * Every entry of a tree, root first, each folder's names in byte order, symlinks not followed,
 * never leaving the root's filesystem. `prune(rel)` keeps an entry but skips what is below it
 * (a mount point whose content belongs to another filesystem).
 */
export function walkTree(root: string, prune: (rel: string) => boolean = () => false): TreeEntry[] {
  const out: TreeEntry[] = [];
  const rootStat = lstatSync(root);
  const visit = (rel: string, stat: Stats) => {
    out.push({ rel, stat });
    if (!stat.isDirectory() || prune(rel) || stat.dev !== rootStat.dev) return;
    const names = readdirSync(path.join(root, rel)).sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      visit(r, lstatSync(path.join(root, r)));
    }
  };
  visit('', rootStat);
  return out;
}

/**
 * Clamp the modification (and access) time of every entry of a tree to `epoch`. For overlayfs
 * upper folders (the layers the configure stage wrote), so run it while they are not mounted:
 * whiteouts are reached too. Returns how many entries changed.
 */
export function clampTimes(root: string, epoch: number): number {
  let changed = 0;
  for (const { rel, stat } of walkTree(root)) {
    if (stat.mtimeMs <= epoch * 1000) continue;
    lutimesSync(path.join(root, rel), epoch, epoch);
    changed++;
  }
  return changed;
}
