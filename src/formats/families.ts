import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENTRY_CONTENT } from '../cache/kinds.ts';
import { type Cache, contentKey } from '../cache/store.ts';
import { populateIssue } from '../disk/populate.ts';
import { InternalError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { NOT_SHIPPED } from '../modules/finalize.ts';
import { diskCmdline } from '../modules/grub.ts';
import { describeUefiBoot, secureBootChain } from '../modules/secure-boot.ts';
import type { Family } from '../profile/formats.ts';
import { qemuImgProgress } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import { watchdog } from '../run/watchdog.ts';
import { SIZES } from '../space.ts';
import {
  buildBaseDisk,
  type DiskInputs,
  type DiskTreeInputs,
  makeRawDisk,
  makeRawDiskFromTree,
  type Qcow2CompressionType,
  QEMU_IMG_COROUTINES,
  qemuImgConvertArgv,
  writeDiskTree,
} from '../stages/disk.ts';
import { mksquashfs, type SquashfsOptions } from '../stages/iso.ts';
import type { BuildPlan } from '../stages/plan.ts';
import type { BlockDeviceKind } from '../sys/blockdev.ts';
import { duBytes } from '../sys/files.ts';
import type { ProductOf } from './types.ts';

/**
 * The image families: what each makes once, from the configured tree of its own layer, for all
 * its formats. `live`: the cached base squashfs of the rootfs; `disk`: the finished raw disk (a
 * copy of the cached base disk with the configured tree synced in, or made in user space from
 * the tree when the rootfs is new or the build reproducible); `tree`: the configured tree itself.
 */

const SQUASHFS_STAGE_VERSION = 1;
const DISK_STAGE_VERSION = 1;
const QCOW2_STAGE_VERSION = 1;

/** What the families' steps get from the build. */
export interface FamilyContext {
  runner: Runner;
  logger: Logger;
  plan: BuildPlan;
  cache: Cache;
  /** The cached rootfs's tree, and its build time (derived entries are keyed by it too). */
  rootfs: string;
  rootfsStamp: string;
  /** Whether this build made the rootfs (not found in the cache or pulled). */
  rootfsMade: boolean;
  kernelVersion: string;
  /** The family's work folder. */
  work: string;
  /** The family's configured tree, mounted (rootfs + common + family layers). */
  tree: string;
  /** The configuration layers' upper folders, bottom first. */
  uppers: { common: string; family: string };
  sourceDateEpoch?: number;
  squashfsThreads?: number;
  blockDevice: BlockDeviceKind;
  /** Where loop/nbd attachments are recorded (the next build detaches what a killed one left). */
  registryDir: string;
  /** Reports whether a cached entry was reused (by the entry's kind). */
  cacheHit: (kind: string, hit: boolean) => void;
}

export interface FamilySteps<F extends Family> {
  /** After the profile's operations in the family's layer, before its times are clamped. */
  finishTree?(ctx: Pick<FamilyContext, 'runner' | 'plan' | 'kernelVersion'>, tree: string): Promise<void>;
  /** What its formats are made from. */
  prepare(ctx: FamilyContext): Promise<ProductOf<F>>;
  /** Pure: what the family's stage does, for `plan`. */
  describe(plan: BuildPlan): string;
  /**
   * About what the family's work folder will hold at most, when it is worth keeping in memory
   * (see workInMemory in src/space.ts); undefined: on disk, under the cache folder.
   */
  workBytes?(ctx: FamilyContext): number | undefined;
}

/** The cache key of the live base squashfs of a rootfs (made at `rootfsStamp`). */
export function liveBaseKey(plan: BuildPlan, rootfsStamp: string): string {
  const squashfs = liveSquashfs(plan, undefined, epochOf(rootfsStamp));
  return contentKey({
    v: SQUASHFS_STAGE_VERSION,
    rootfs: plan.rootfsKey,
    rootfsStamp,
    squashfs: { ...squashfs, threads: undefined },
  });
}

/** The cache key of the base disk of a rootfs (made at `rootfsStamp`) in the plan's layout. */
export function baseDiskKey(plan: BuildPlan, rootfsStamp: string): string {
  return contentKey({
    v: DISK_STAGE_VERSION,
    seed: diskSeed(plan),
    rootfsStamp,
    layout: plan.layout,
    exclude: NOT_SHIPPED,
  });
}

/** The cache key of the QCOW2 of a base disk (its key) with clusters compressed by `compressionType`. */
export function baseQcow2Key(diskKey: string, compressionType: Qcow2CompressionType): string {
  return contentKey({ v: QCOW2_STAGE_VERSION, disk: diskKey, compressionType });
}

/**
 * The cache entry a family reads besides the rootfs, if any (pure): what a build with a cached
 * rootfs may find made already. A reproducible disk is made from the tree and reads none.
 */
export function familyCacheEntry(
  family: Family,
  plan: BuildPlan,
  rootfsStamp: string,
): { kind: 'squashfs' | 'disk'; key: string } | undefined {
  if (family === 'live') return { kind: 'squashfs', key: liveBaseKey(plan, rootfsStamp) };
  if (family === 'disk' && !diskReproducible(plan))
    return { kind: 'disk', key: baseDiskKey(plan, rootfsStamp) };
  return undefined;
}

/** The live squashfs settings of a profile (threads: the profile's, the caller's, or every core). */
export function liveSquashfs(plan: BuildPlan, threads?: number, mkfsTime?: number): SquashfsOptions {
  const iso = plan.profile.iso;
  return {
    compression: iso?.compression ?? 'lz4',
    threads: iso?.threads ?? threads ?? os.availableParallelism(),
    exclude: ['boot', ...NOT_SHIPPED],
    mkfsTime,
  };
}

const live: FamilySteps<'live'> = {
  describe: (plan) =>
    `configure the live layer; live base squashfs of the rootfs (${liveSquashfs(plan, 1).compression}, cached)`,
  async prepare(c) {
    // the base is a function of the rootfs alone: stamped with the rootfs's build time
    const squashfs = liveSquashfs(c.plan, c.squashfsThreads, epochOf(c.rootfsStamp));
    let base: Promise<string> | undefined;
    // made (or taken from the cache) only when a format asks for it: pxe packs the whole tree
    const baseSquashfs = () => {
      base ??= (async () => {
        const entry = await c.cache.obtain(
          'squashfs',
          liveBaseKey(c.plan, c.rootfsStamp),
          {
            summary: `live base of rootfs ${c.plan.rootfsKey} (${squashfs.compression})`,
            usedBy: c.plan.profile.name,
          },
          async (dir) => {
            c.logger.info(
              `live: mksquashfs of the base rootfs (${squashfs.compression}, ${squashfs.threads} threads)`,
            );
            const out = path.join(dir, ENTRY_CONTENT.squashfs.name);
            await mksquashfs(
              c.runner,
              c.rootfs,
              out,
              squashfs,
              'creating the base live squashfs',
              'mksquashfs base',
            );
          },
        );
        c.cacheHit('squashfs', entry.hit || entry.pulled);
        return path.join(entry.dir, ENTRY_CONTENT.squashfs.name);
      })();
      return base;
    };
    return {
      family: 'live',
      tree: c.tree,
      baseSquashfs,
      // the names the ISO has always carried (live-boot stacks them in this order)
      layers: [
        { name: 'config-common', dir: c.uppers.common },
        { name: 'config-iso', dir: c.uppers.family },
      ],
      kernelVersion: c.kernelVersion,
      squashfs,
    };
  },
};

/** Seed of the disk's derived ids (partition and filesystem UUIDs, a VHDX's GUIDs): per rootfs and layout. */
export function diskSeed(plan: BuildPlan): string {
  if (!plan.layout) throw new InternalError('a disk family without a layout');
  return `${plan.rootfsKey}:${contentKey(plan.layout)}`;
}

/** The disk family's tree inputs (fstab, grub.cfg, boot loaders) of a plan. */
export function diskTreeInputs(plan: BuildPlan, kernelVersion: string): DiskTreeInputs {
  const { profile, layout } = plan;
  if (!layout) throw new InternalError('a disk family without a layout');
  return {
    layout,
    seed: diskSeed(plan),
    kernelVersion,
    cmdline: diskCmdline(profile),
    title: `${profile.name} (${plan.distro.name})`,
    grubTimeout: profile.grub?.timeout ?? 1,
    grubSerialCommand: profile.grub?.serialCommand,
    signedChain: secureBootChain(profile),
  };
}

/** Whether the disk is made reproducibly (SOURCE_DATE_EPOCH and a layout mke2fs -d can fill). */
export function diskReproducible(plan: BuildPlan): boolean {
  return plan.sourceDateEpoch !== undefined && plan.layout !== undefined && !populateIssue(plan.layout);
}

const disk: FamilySteps<'disk'> = {
  describe: (plan) =>
    `${
      diskReproducible(plan)
        ? 'configure the disk layer; raw disk made from the tree in user space (reproducible)'
        : 'configure the disk layer; raw disk: a copy of the cached base disk, the tree synced in (from the tree in user space while the rootfs is new)'
    }; GRUB BIOS, ${describeUefiBoot(plan.profile)}`,
  finishTree: (c, tree) => writeDiskTree(c.runner, tree, diskTreeInputs(c.plan, c.kernelVersion)),
  // the raw disk: the tree and its filesystems' metadata (the layout's ext4 inode tables, journals)
  workBytes(c) {
    const rootfs = c.cache.info('rootfs', c.plan.rootfsKey)?.bytes;
    if (rootfs === undefined || !c.plan.layout) return undefined;
    const tree = rootfs + duBytes(c.uppers.common, true) + duBytes(c.uppers.family, true);
    return Math.ceil(tree * SIZES.diskRatio + SIZES.diskExtra + c.plan.layout.sizeBytes * 0.02);
  },
  async prepare(c) {
    const inputs: DiskInputs = {
      ...diskTreeInputs(c.plan, c.kernelVersion),
      tree: c.tree,
      work: c.work,
      blockDevice: c.blockDevice,
      registryDir: c.registryDir,
      sourceDateEpoch: c.sourceDateEpoch,
    };
    const sde = c.sourceDateEpoch;
    const fromTree = populateIssue(inputs.layout);
    if (sde !== undefined && fromTree) c.logger.warn(`disk: ${fromTree}`);
    if (sde !== undefined && !fromTree)
      return { family: 'disk', raw: await makeRawDiskFromTree(c.runner, c.logger, inputs) };
    // a rootfs this build made has no base disk yet: one more copy of it would only slow the build
    // down (the next build that reuses the rootfs makes the base disk, or pulls it)
    if (c.rootfsMade && !fromTree) {
      c.logger.info('disk: the rootfs is new: the raw disk is made from the tree (no base disk yet)');
      return { family: 'disk', raw: await makeRawDiskFromTree(c.runner, c.logger, inputs) };
    }
    const baseInputs = {
      tree: c.rootfs,
      work: path.join(c.work, 'base'),
      layout: inputs.layout,
      seed: inputs.seed,
      blockDevice: c.blockDevice,
      registryDir: c.registryDir,
      exclude: NOT_SHIPPED,
    };
    const diskKey = baseDiskKey(c.plan, c.rootfsStamp);
    const base = await c.cache.obtain(
      'disk',
      diskKey,
      { summary: `base disk of rootfs ${c.plan.rootfsKey}`, usedBy: c.plan.profile.name },
      async (dir) => {
        mkdirSync(baseInputs.work, { recursive: true });
        await buildBaseDisk(c.runner, c.logger, baseInputs, path.join(dir, ENTRY_CONTENT.disk.name));
      },
    );
    c.cacheHit('disk', base.hit || base.pulled);
    const baseDisk = path.join(base.dir, ENTRY_CONTENT.disk.name);
    const qcow2s = new Map<Qcow2CompressionType, Promise<string>>();
    // the base disk as a compressed QCOW2, converted once: a QCOW2 is then that file with the
    // clusters the configuration changed written in (src/stages/qcow2-delta.ts)
    const baseQcow2 = async (type: Qcow2CompressionType) => {
      const entry = await c.cache.obtain(
        'qcow2',
        baseQcow2Key(diskKey, type),
        {
          summary: `base disk of rootfs ${c.plan.rootfsKey} as a QCOW2 (${type})`,
          usedBy: c.plan.profile.name,
        },
        async (dir) => {
          c.logger.info(
            `qcow2: converting the base disk once (${type}; cached: a warm QCOW2 writes only what changed)`,
          );
          await c.runner.run(
            qemuImgConvertArgv(
              baseDisk,
              path.join(dir, ENTRY_CONTENT.qcow2.name),
              true,
              type,
              QEMU_IMG_COROUTINES,
            ),
            {
              ...watchdog(path.join(dir, ENTRY_CONTENT.qcow2.name)),
              context: 'converting the base disk to qcow2',
              progress: qemuImgProgress('qemu-img convert base'),
            },
          );
        },
      );
      c.cacheHit('qcow2', entry.hit || entry.pulled);
      return path.join(entry.dir, ENTRY_CONTENT.qcow2.name);
    };
    return {
      family: 'disk',
      raw: await makeRawDisk(c.runner, c.logger, { ...inputs, baseDisk }),
      base: {
        disk: baseDisk,
        qcow2: (type) => {
          if (!qcow2s.has(type)) qcow2s.set(type, baseQcow2(type));
          return qcow2s.get(type)!;
        },
      },
    };
  },
};

const tree: FamilySteps<'tree'> = {
  describe: () => 'configure the tree layer',
  prepare: async (c) => ({ family: 'tree', tree: c.tree }),
};

export const FAMILY_STEPS: { [F in Family]: FamilySteps<F> } = { live, disk, tree };

/** Seconds since 1970 of an ISO date (a cache entry's createdAt), undefined when there is none. */
function epochOf(iso: string): number | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
