import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cache, contentKey, DEFAULT_MAX_AGE_DAYS } from './cache/store.ts';
import { computeLayout, type Layout } from './disk/layout.ts';
import { populateIssue } from './disk/populate.ts';
import { type Distro, getDistro } from './distro/index.ts';
import { preflight } from './doctor.ts';
import { UserError, ValidationError } from './errors.ts';
import type { Logger } from './log.ts';
import { NOT_SHIPPED } from './modules/finalize.ts';
import { diskCmdline, liveCmdline } from './modules/grub.ts';
import { planProfile } from './modules/index.ts';
import { applyOps } from './ops/apply.ts';
import type { Op } from './ops/types.ts';
import { type ResolvedProfile, type ResolveOverrides, resolveProfile } from './profile/resolve.ts';
import type { Context, Format } from './profile/schema.ts';
import { clampTimes, sourceDateEpoch } from './repro/times.ts';
import type { Runner } from './run/runner.ts';
import { publishSbom } from './sbom.ts';
import { publishSignature, signatureOf, signFile } from './sign.ts';
import { withChroot } from './stages/chroot.ts';
import {
  buildIso,
  defaultMetaData,
  mksquashfs,
  readConfigDrive,
  type SquashfsOptions,
} from './stages/iso.ts';
import {
  buildBaseDisk,
  buildQcow2,
  buildQcow2Reproducible,
  type DiskTreeInputs,
  writeDiskTree,
} from './stages/qcow2.ts';
import {
  buildRootfs,
  installedKernels,
  installSet,
  ROOTFS_STAGE_VERSION,
  type RootfsInputs,
} from './stages/rootfs.ts';
import { type BlockDeviceKind, chooseBlockDevice, sweepStaleAttachments } from './sys/blockdev.ts';
import { installedPackages } from './sys/dpkg.ts';
import { asideName, discard, publish, removeTree, sha256Text } from './sys/files.ts';
import { type MountScope, withMounts } from './sys/mounts.ts';
import { hostToolVersions } from './toolversions.ts';

export interface BuildOptions {
  profile: string;
  /** Mirrors to fall back to when the distro mirror fails. */
  fallbackMirrors?: string[];
  bootstrapper?: Bootstrapper;
  overrides: ResolveOverrides;
  outputDir: string;
  cacheDir: string;
  noCache?: boolean;
  refresh?: boolean;
  maxAgeDays?: number;
  blockDevice?: BlockDeviceKind;
  userData?: string;
  metaData?: string;
  networkData?: string;
  /** Environment for network tools (proxy settings). */
  netEnv?: Record<string, string>;
  squashfsThreads?: number;
  /** gpg key that signs each image into `<image>.asc`. */
  signKey?: string;
}

export interface BuildDeps {
  runner: Runner;
  logger: Logger;
  /** Set when a signal asked us to stop; checked between steps. */
  interrupted?: () => string | undefined;
}

export interface BuildResult {
  profile: ResolvedProfile;
  outputs: { format: Format; path: string; sha256: string; bytes: number }[];
  manifest: string;
  stages: Record<string, number>;
  cacheHits: Record<string, boolean>;
}

/** Everything decided before any work: pure but for reading the profile and its files. */
export interface BuildPlan {
  profile: ResolvedProfile;
  distro: Distro;
  ops: Op[];
  rootfs: RootfsInputs;
  rootfsKey: string;
  layout?: Layout;
}

function fileDigest(f: string | undefined): string | undefined {
  return f && existsSync(f) ? sha256Text(readFileSync(f)) : undefined;
}

export type Bootstrapper = RootfsInputs['bootstrapper'];
const PREFER_MMDEBSTRAP = false;

/** mmdebstrap when installed (measured faster, see README "Benchmark"), else debootstrap. */
export function defaultBootstrapper(have: (cmd: string) => boolean = onPath): Bootstrapper {
  return PREFER_MMDEBSTRAP && have('mmdebstrap') ? 'mmdebstrap' : 'debootstrap';
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, cmd)));
}

export async function planBuild(
  ref: string,
  overrides: ResolveOverrides,
  cwd = process.cwd(),
  bootstrapper: Bootstrapper = defaultBootstrapper(),
): Promise<BuildPlan> {
  const profile = await resolveProfile(ref, overrides, cwd);
  const base = getDistro(profile.distro, profile.mirror);
  const distro = profile.kernel?.packages?.length
    ? { ...base, kernelPackages: profile.kernel.packages }
    : base;
  const { ops, packages } = planProfile(profile);
  const rootfs: RootfsInputs = {
    distro,
    packages,
    repos: profile.repos ?? [],
    blockedPackages: profile.blockedPackages ?? [],
    bootstrapper,
  };
  const rootfsKey = contentKey({
    v: ROOTFS_STAGE_VERSION,
    distro,
    install: installSet(rootfs),
    repos: rootfs.repos.map((r) => ({ ...r, key: fileDigest(r.key) })),
    blocked: rootfs.blockedPackages,
    bootstrapper: rootfs.bootstrapper,
  });
  let layout: Layout | undefined;
  if (profile.formats.includes('qcow2')) {
    const { layout: l, issues } = computeLayout(profile.disk?.size, profile.disk?.partitions);
    if (issues.length) throw new ValidationError(profile.sources.at(-1) ?? profile.name, issues);
    layout = l;
  }
  return { profile, distro, ops, rootfs, rootfsKey, layout };
}

const SQUASHFS_STAGE_VERSION = 1;
const DISK_STAGE_VERSION = 1;

/** Rough need of one build in the work/cache folder: a rootfs, a disk's worth of copies, outputs. */
export const MIN_FREE_BYTES = 4 * 1024 ** 3;

const CONTEXT_OF: Record<Format, Context> = { iso: 'iso', qcow2: 'qcow2' };

export async function build(opts: BuildOptions, deps: BuildDeps): Promise<BuildResult> {
  const { runner, logger } = deps;
  const stages: Record<string, number> = {};
  const cacheHits: Record<string, boolean> = {};
  const checkpoint = () => {
    const sig = deps.interrupted?.();
    if (sig) throw new UserError(`interrupted by ${sig}`);
  };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    checkpoint();
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      stages[name] = (stages[name] ?? 0) + (Date.now() - t0) / 1000;
    }
  };

  const plan = await timed('plan', () =>
    planBuild(opts.profile, opts.overrides, process.cwd(), opts.bootstrapper),
  );
  const { profile } = plan;
  const sde = sourceDateEpoch();
  preflight({
    formats: profile.formats,
    requireRoot: true,
    dir: opts.cacheDir,
    minFreeBytes: MIN_FREE_BYTES,
  });
  const configDrive = readConfigDrive({
    userData: opts.userData,
    metaData: opts.metaData,
    networkData: opts.networkData,
  });
  const outDir = path.resolve(opts.outputDir);
  mkdirSync(outDir, { recursive: true });
  const blockDevice = profile.formats.includes('qcow2') ? chooseBlockDevice(opts.blockDevice) : 'loop';

  const cacheRoot = opts.noCache
    ? path.join(opts.cacheDir, 'work', `nocache-${process.pid}-${Date.now()}`)
    : opts.cacheDir;
  const cache = new Cache(cacheRoot, runner, logger);
  await sweepStaleAttachments(runner, path.join(opts.cacheDir, 'attachments'), logger);
  const work = path.join(opts.cacheDir, 'work', `build-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  const asides: string[] = [];
  const outputs: BuildResult['outputs'] = [];
  try {
    // entries derived from the rootfs (squashfs, base disk) are keyed by its build time too,
    // so that --refresh or --max-age rebuilding the rootfs also renews them
    let rootfsStamp = '';
    const rootfs = await timed('rootfs', async () => {
      const r = await cache.obtain(
        'rootfs',
        plan.rootfsKey,
        {
          summary: `${plan.distro.name}, ${installSet(plan.rootfs).length} packages`,
          usedBy: profile.name,
          refresh: opts.refresh,
          maxAgeMs: (opts.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS) * 86400000,
        },
        async (dir) => {
          const tree = path.join(dir, 'tree');
          mkdirSync(tree);
          await buildRootfs(
            { runner, logger, packageCache: cache.packages, env: opts.netEnv ?? {} },
            { ...plan.rootfs, fallbackMirrors: opts.fallbackMirrors },
            tree,
          );
        },
      );
      cacheHits.rootfs = r.hit;
      rootfsStamp = cache.info('rootfs', plan.rootfsKey)?.createdAt ?? '';
      logger.info(`rootfs: ${r.hit ? 'reused from cache' : 'built'} (${plan.rootfsKey})`);
      return path.join(r.dir, 'tree');
    });

    const kernels = installedKernels(rootfs);
    const kernelVersion = kernels.at(-1);
    if (!kernelVersion)
      throw new UserError(`no kernel in the rootfs ${rootfs}`, 'run with --refresh to rebuild it');

    const layers = path.join(work, 'layers');
    const commonOps = plan.ops.filter((o) => o.module !== 'finalize');
    const finalOps = plan.ops.filter((o) => o.module === 'finalize');
    const applyCtx = {
      runner,
      logger,
      download: (url: string, dest: string) => download(runner, url, dest, opts.netEnv),
    };

    await timed('configure', async () => {
      await withMounts(runner, async (m) => {
        const merged = await overlay(m, layers, 'common', [rootfs]);
        await withChroot(merged, runner, { env: opts.netEnv }, async (chroot) => {
          const n = await applyOps(commonOps, 'common', { ...applyCtx, chroot });
          logger.info(`configure: ${n} common operations applied`);
        });
      });
      // SOURCE_DATE_EPOCH: what the build wrote gets clamped mtimes (the layer is not mounted now)
      if (sde !== undefined) clampTimes(path.join(layers, 'common', 'upper'), sde);
    });

    for (const format of profile.formats) {
      const ctx = CONTEXT_OF[format];
      const final = path.join(outDir, `${profile.name}.${format}`);
      const tmp = asideName(final);
      asides.push(tmp, `${tmp}.sha256`, signatureOf(tmp));
      const title = `${profile.name} (${plan.distro.name})`;
      const diskTree: DiskTreeInputs | undefined = plan.layout && {
        layout: plan.layout,
        seed: `${plan.rootfsKey}:${contentKey(plan.layout)}`,
        kernelVersion,
        cmdline: diskCmdline(profile),
        title,
        grubTimeout: profile.grub?.timeout ?? 1,
        grubSerialCommand: profile.grub?.serialCommand,
      };
      await timed(format, async () => {
        const lower = [path.join(layers, 'common', 'upper'), rootfs];
        await withMounts(runner, async (m) => {
          const merged = await overlay(m, layers, ctx, lower);
          await withChroot(merged, runner, { env: opts.netEnv }, async (chroot) => {
            // ops scoped to this format, then finalize (common, then format-scoped) last
            const n = await applyOps(commonOps, ctx, { ...applyCtx, chroot });
            await applyOps(finalOps, 'common', { ...applyCtx, chroot });
            await applyOps(finalOps, ctx, { ...applyCtx, chroot });
            logger.info(`${format}: ${n} ${format}-only operations applied, finalized`);
          });
          if (format === 'qcow2') await writeDiskTree(runner, merged, diskTree!);
        });
        if (sde !== undefined) clampTimes(path.join(layers, ctx, 'upper'), sde);
        // the image is made from the finished layer, mounted again
        await withMounts(runner, async (m) => {
          const merged = await overlay(m, layers, ctx, lower);
          const fwork = path.join(work, format);
          mkdirSync(fwork, { recursive: true });
          if (format === 'iso') {
            const squashfs: SquashfsOptions = {
              compression: profile.iso?.compression ?? 'lz4',
              threads: profile.iso?.threads ?? opts.squashfsThreads ?? os.availableParallelism(),
              exclude: ['boot', ...NOT_SHIPPED],
              // the base is a function of the rootfs alone: stamped with the rootfs's build time
              mkfsTime: epochOf(rootfsStamp),
            };
            const base = await cache.obtain(
              'squashfs',
              contentKey({
                v: SQUASHFS_STAGE_VERSION,
                rootfs: plan.rootfsKey,
                rootfsStamp,
                squashfs: { ...squashfs, threads: undefined },
              }),
              {
                summary: `live base of rootfs ${plan.rootfsKey} (${squashfs.compression})`,
                usedBy: profile.name,
              },
              async (dir) => {
                logger.info(
                  `iso: mksquashfs of the base rootfs (${squashfs.compression}, ${squashfs.threads} threads)`,
                );
                const out = path.join(dir, 'filesystem.squashfs');
                await mksquashfs(runner, rootfs, out, squashfs, 'creating the base live squashfs');
              },
            );
            cacheHits.squashfs = base.hit;
            await buildIso(runner, logger, {
              layered: {
                base: path.join(base.dir, 'filesystem.squashfs'),
                layers: [
                  { name: 'config-common', dir: path.join(layers, 'common', 'upper') },
                  { name: 'config-iso', dir: path.join(layers, 'iso', 'upper') },
                ],
              },
              tree: merged,
              work: fwork,
              out: tmp,
              kernelVersion,
              cmdline: liveCmdline(profile),
              marker: `ib-native-${plan.rootfsKey.slice(0, 12)}`,
              title,
              squashfs,
              idSeed: `${profile.name}:${plan.rootfsKey}`,
              sourceDateEpoch: sde,
              configDrive: {
                ...configDrive,
                generatedMetaData: defaultMetaData(
                  uuidFor(`${profile.name}:${plan.rootfsKey}`),
                  profile.hostname,
                  profile.name,
                ),
              },
            });
          } else {
            const disk = {
              ...diskTree!,
              tree: merged,
              work: fwork,
              out: tmp,
              blockDevice,
              registryDir: path.join(opts.cacheDir, 'attachments'),
              compress: profile.qcow2?.compress ?? true,
              compressionType: profile.qcow2?.compressionType ?? 'zstd',
              sourceDateEpoch: sde,
            };
            const notReproducible = sde !== undefined ? populateIssue(disk.layout) : undefined;
            if (notReproducible) logger.warn(`qcow2: ${notReproducible}`);
            if (sde !== undefined && !notReproducible) {
              await buildQcow2Reproducible(runner, logger, { ...disk, sourceDateEpoch: sde });
            } else {
              const baseInputs = {
                tree: rootfs,
                work: path.join(fwork, 'base'),
                layout: disk.layout,
                seed: disk.seed,
                blockDevice,
                registryDir: disk.registryDir,
                exclude: NOT_SHIPPED,
              };
              const base = await cache.obtain(
                'disk',
                contentKey({
                  v: DISK_STAGE_VERSION,
                  seed: disk.seed,
                  rootfsStamp,
                  layout: plan.layout,
                  exclude: NOT_SHIPPED,
                }),
                { summary: `base disk of rootfs ${plan.rootfsKey}`, usedBy: profile.name },
                async (dir) => {
                  mkdirSync(baseInputs.work, { recursive: true });
                  await buildBaseDisk(runner, logger, baseInputs, path.join(dir, 'disk.raw'));
                },
              );
              cacheHits.disk = base.hit;
              await buildQcow2(runner, logger, { ...disk, baseDisk: path.join(base.dir, 'disk.raw') });
            }
          }
          await removeTree(runner, fwork);
        });
      });
      checkpoint();
      if (opts.signKey) await signFile(runner, tmp, opts.signKey);
      const sha256 = (await publish(tmp, final))!;
      publishSignature(tmp, final, Boolean(opts.signKey));
      publishSbom(final, {
        imageSha256: sha256,
        distro: plan.distro,
        packages: installedPackages(rootfs),
        created: sde ?? Math.floor(Date.now() / 1000),
        toolVersion: '0.1.0',
      });
      outputs.push({ format, path: final, sha256, bytes: statSync(final).size });
      logger.info(`${format}: wrote ${final}`);
    }

    const manifestPath = path.join(outDir, `${profile.name}.manifest.json`);
    const manifest = {
      ibNative: '0.1.0',
      profile,
      distro: plan.distro,
      rootfsKey: plan.rootfsKey,
      kernel: kernelVersion,
      packages: installedPackages(rootfs),
      outputs: outputs.map((o) => ({
        format: o.format,
        file: path.basename(o.path),
        sha256: o.sha256,
        bytes: o.bytes,
      })),
      hostTools: await hostToolVersions(runner),
      stages,
      cacheHits,
      builtAt: new Date((sde ?? Date.now() / 1000) * 1000).toISOString(),
    };
    const mtmp = asideName(manifestPath);
    asides.push(mtmp, `${mtmp}.sha256`);
    writeFileSync(mtmp, `${JSON.stringify(manifest, null, 2)}\n`);
    await publish(mtmp, manifestPath);
    return { profile, outputs, manifest: manifestPath, stages, cacheHits };
  } finally {
    discard(...asides);
    await removeTree(runner, work).catch((e) =>
      logger.warn(`could not remove ${work}: ${(e as Error).message}`),
    );
    if (opts.noCache) await removeTree(runner, cacheRoot).catch(() => undefined);
  }
}

/** Mount an overlay for one configuration layer; returns the merged view. */
async function overlay(m: MountScope, layers: string, name: string, lower: string[]): Promise<string> {
  const base = path.join(layers, name);
  for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(base, d), { recursive: true });
  const merged = path.join(base, 'merged');
  await m.mount(
    [
      '-t',
      'overlay',
      '-o',
      `lowerdir=${lower.join(':')},upperdir=${base}/upper,workdir=${base}/work`,
      'overlay',
    ],
    merged,
  );
  return merged;
}

async function download(
  runner: Runner,
  url: string,
  dest: string,
  env?: Record<string, string>,
): Promise<void> {
  await runner.run(
    ['curl', '--fail', '--silent', '--show-error', '--location', '--retry', '3', '--output', dest, url],
    {
      env,
      context: `downloading ${url}`,
    },
  );
}

/** Seconds since 1970 of an ISO date (a cache entry's createdAt), undefined when there is none. */
function epochOf(iso: string): number | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function uuidFor(seed: string): string {
  const h = sha256Text(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
