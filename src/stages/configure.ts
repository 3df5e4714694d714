import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ENTRY_CONTENT } from '../cache/kinds.ts';
import { type Cache, DEFAULT_MAX_AGE_DAYS } from '../cache/store.ts';
import { keyringsDir } from '../keys/archive-keyring.ts';
import type { Logger } from '../log.ts';
import { type ApplyContext, applyOps } from '../ops/apply.ts';
import type { Op } from '../ops/types.ts';
import type { Family } from '../profile/formats.ts';
import type { Context } from '../profile/schema.ts';
import type { Runner } from '../run/runner.ts';
import { download } from '../sys/download.ts';
import { type MountScope, withMounts } from '../sys/mounts.ts';
import { type Chroot, withChroot } from './chroot.ts';
import type { BuildPlan } from './plan.ts';
import { buildRootfs, installSet } from './rootfs.ts';

/**
 * How a build makes a configured tree, shared by `build` and `ib-native shell`: the base rootfs
 * from the stage cache (built when missing), then configuration layers, each an overlayfs over
 * what is below it with a chroot session on the merged view where the profile's operations are
 * applied. A failure inside a layer can be handed to a hook while everything is still mounted
 * (`build --debug-shell`).
 */

export interface StageDeps {
  runner: Runner;
  logger: Logger;
}

export interface RootfsOptions {
  refresh?: boolean;
  maxAgeDays?: number;
  fallbackMirrors?: string[];
  netEnv?: Record<string, string>;
}

/** The cached base rootfs of a plan, built first when missing (or stale, or `refresh`). */
export async function obtainRootfs(
  cache: Cache,
  plan: Pick<BuildPlan, 'profile' | 'distro' | 'rootfs' | 'rootfsKey'>,
  opts: RootfsOptions,
  { runner, logger }: StageDeps,
): Promise<{ tree: string; hit: boolean; stamp: string }> {
  const r = await cache.obtain(
    'rootfs',
    plan.rootfsKey,
    {
      summary: `${plan.distro.name}, ${installSet(plan.rootfs).length} packages`,
      usedBy: plan.profile.name,
      refresh: opts.refresh,
      maxAgeMs: (opts.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS) * 86400000,
    },
    async (dir) => {
      const tree = path.join(dir, ENTRY_CONTENT.rootfs.name);
      mkdirSync(tree);
      await buildRootfs(
        {
          runner,
          logger,
          packageCache: cache.packages,
          keyringDir: keyringsDir(cache.root),
          env: opts.netEnv ?? {},
        },
        { ...plan.rootfs, fallbackMirrors: opts.fallbackMirrors },
        tree,
      );
    },
  );
  logger.info(
    `rootfs: ${r.hit ? 'reused from cache' : r.pulled ? 'pulled from the remote cache' : 'built'} (${plan.rootfsKey})`,
  );
  return {
    tree: path.join(r.dir, ENTRY_CONTENT.rootfs.name),
    // not made here: pulled is as good as found
    hit: r.hit || r.pulled,
    stamp: cache.info('rootfs', plan.rootfsKey)?.createdAt ?? '',
  };
}

/** Everything an operation needs but the chroot session. */
export function applyContext(
  { runner, logger }: StageDeps,
  netEnv?: Record<string, string>,
): Omit<ApplyContext, 'chroot'> {
  return { runner, logger, download: (url, dest) => download(runner, url, dest, netEnv) };
}

/** The configure stage's operations (all but finalize), and finalize's, which run last in each image. */
export function splitOps(ops: readonly Op[]): { common: Op[]; final: Op[] } {
  return {
    common: ops.filter((o) => o.module !== 'finalize'),
    final: ops.filter((o) => o.module === 'finalize'),
  };
}

/** The common layer: every operation meant for all images, finalize excepted. */
export async function applyCommonLayer(ops: readonly Op[], ctx: ApplyContext): Promise<void> {
  const n = await applyOps(splitOps(ops).common, 'common', ctx);
  ctx.logger.info(`configure: ${n} common operations applied`);
}

/** A family's layer: the operations scoped to the family, then finalize (common, then family-scoped). */
export async function applyFamilyLayer(ops: readonly Op[], family: Family, ctx: ApplyContext): Promise<void> {
  const { common, final } = splitOps(ops);
  const n = await applyOps(common, family, ctx);
  await applyOps(final, 'common', ctx);
  await applyOps(final, family, ctx);
  ctx.logger.info(`${family}: ${n} ${family}-only operations applied, finalized`);
}

/** Where a build failed, handed to BuildOptions.onFailure while the tree is still mounted. */
export interface FailureContext {
  /** The tree being worked on: the merged view of the layer, still mounted. */
  tree: string;
  /** The stage that failed: `configure` (the common layer) or a family's (`live`, `disk`, `tree`). */
  stage: string;
  error: unknown;
  /** The chroot session, when the failure happened inside one (its mounts are then in place). */
  chroot?: Chroot;
  /** The build's runner and logger (to open a chroot session when there is none, to report). */
  runner: Runner;
  logger: Logger;
}

export type FailureHook = (ctx: FailureContext) => Promise<void>;

export interface LayerDeps extends StageDeps {
  /** Environment of the chroot session (proxy settings). */
  netEnv?: Record<string, string>;
  onFailure?: FailureHook;
}

/** Runs `fn` in a chroot session on the layer's merged view; the session closes when it returns. */
export type InChroot = <T>(fn: (chroot: Chroot) => Promise<T>) => Promise<T>;

/**
 * What every command of a configuration layer gets: no Python bytecode written by what runs there
 * (the rootfs's own, compiled by the packages, ships; bytecode a build wrote would carry its
 * interpreter's marshal quirks into layers that must come out the same under SOURCE_DATE_EPOCH).
 */
const LAYER_ENV: Readonly<Record<string, string>> = { PYTHONDONTWRITEBYTECODE: '1' };

/** The stage a layer belongs to. */
export function layerStage(name: Context): string {
  return name === 'common' ? 'configure' : name;
}

/**
 * Mounts the configuration layer `name` (an overlayfs with its upper and work folders under
 * `layersDir/name`) over `lower`, and hands `fn` the merged view and a way to open a chroot
 * session on it. Everything is unmounted when `fn` settles. When `fn` fails, `onFailure` is called
 * first (once), inside the chroot session if the failure happened there.
 */
export async function withLayer<T>(
  deps: LayerDeps,
  layersDir: string,
  name: Context,
  lower: string[],
  fn: (merged: string, inChroot: InChroot) => Promise<T>,
): Promise<T> {
  const stage = layerStage(name);
  let reported = false;
  const fail = async (error: unknown, tree: string, chroot?: Chroot) => {
    if (!deps.onFailure || reported) return;
    reported = true;
    try {
      const { runner, logger } = deps;
      await deps.onFailure({ tree, stage, error, runner, logger, ...(chroot ? { chroot } : {}) });
    } catch (e) {
      deps.logger.warn(`the failure hook failed: ${(e as Error).message}`);
    }
  };
  return withMounts(deps.runner, async (m) => {
    const merged = await overlay(m, layersDir, name, lower);
    const inChroot: InChroot = (inner) =>
      withChroot(
        merged,
        deps.runner,
        { env: { ...LAYER_ENV, ...deps.netEnv }, logger: deps.logger },
        async (chroot) => {
          try {
            return await inner(chroot);
          } catch (e) {
            await fail(e, merged, chroot);
            throw e;
          }
        },
      );
    try {
      return await fn(merged, inChroot);
    } catch (e) {
      await fail(e, merged);
      throw e;
    }
  });
}

/** Mount an overlay for one configuration layer; returns the merged view. */
async function overlay(m: MountScope, layers: string, name: string, lower: string[]): Promise<string> {
  const base = path.join(layers, name);
  for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(base, d), { recursive: true });
  const merged = path.join(base, 'merged');
  await m.overlay(lower, `${base}/upper`, `${base}/work`, merged);
  return merged;
}
