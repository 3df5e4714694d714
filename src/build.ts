// Over 300 lines: the pipeline, to be rewritten as a flat list of planned stages (issue 12 items 1-2); not split before that.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { preferredBootstrapper } from '../native-tools/tools.ts';
import { Cache, contentKey, defaultCacheDir, entryInfo } from './cache/store.ts';
import { computeLayout, type Layout } from './disk/layout.ts';
import { populateIssue } from './disk/populate.ts';
import { getDistro } from './distro/index.ts';
import { preflight, realProbe } from './doctor.ts';
import { UserError, ValidationError } from './errors.ts';
import { cachedKeyResolver, type KeyResolver, keysDir, repoKeyResolver } from './keys/repo-keys.ts';
import type { Logger } from './log.ts';
import { manifestOf, manifestText } from './manifest.ts';
import { NOT_SHIPPED } from './modules/finalize.ts';
import { diskCmdline, liveCmdline } from './modules/grub.ts';
import { planProfile } from './modules/index.ts';
import { kubernetesPreferences, kubernetesRepo } from './modules/kubernetes.ts';
import { trustedRepoWarnings } from './modules/repos.ts';
import { TOOL_VERSION } from './package.ts';
import { profileSecrets } from './profile/public.ts';
import { type ResolvedProfile, type ResolveOverrides, resolveProfile } from './profile/resolve.ts';
import type { Format } from './profile/schema.ts';
import { BuildReporter } from './reporter.ts';
import { clampTimes, sourceDateEpoch } from './repro/times.ts';
import { type Runner, scopedRunner } from './run/runner.ts';
import { sbomOf, sbomText } from './sbom.ts';
import { signatureOf, signFile } from './sign.ts';
import { checkSpace, estimateSpace, type Folder, NoSpaceWatch } from './space.ts';
import {
  applyCommonLayer,
  applyContext,
  applyFormatLayer,
  CONTEXT_OF,
  type FailureHook,
  obtainRootfs,
  withLayer,
} from './stages/configure.ts';
import {
  buildIso,
  defaultMetaData,
  mksquashfs,
  readConfigDrive,
  type SquashfsOptions,
} from './stages/iso.ts';
import type { BuildPlan } from './stages/plan.ts';
import {
  buildBaseDisk,
  buildQcow2,
  buildQcow2Reproducible,
  type DiskTreeInputs,
  qcow2Compression,
  writeDiskTree,
} from './stages/qcow2.ts';
import { installedKernels, installSet, ROOTFS_STAGE_VERSION, type RootfsInputs } from './stages/rootfs.ts';
import { type BlockDeviceKind, chooseBlockDevice, sweepStaleAttachments } from './sys/blockdev.ts';
import { installedPackages } from './sys/dpkg.ts';
import { Publication, removeTree, sha256Text, sweepStaleWork } from './sys/files.ts';
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
  /** Bundles: how many profiles configure and pack at once (see src/bundle.ts). */
  jobs?: number;
  /** Called when a configure or image stage fails, before its tree is unmounted (`--debug-shell`). */
  onFailure?: FailureHook;
}

export interface BuildDeps {
  runner: Runner;
  /**
   * Where the build's events go and its log is written (src/reporter.ts). Without one, the
   * build reports to `logger` only.
   */
  reporter?: BuildReporter;
  logger?: Logger;
  /** Set when a signal asked us to stop; checked between steps. */
  interrupted?: () => string | undefined;
  /** Stage the outputs here and leave the commit to the caller (a bundle publishes all at once). */
  publication?: Publication;
}

export interface BuildResult {
  profile: ResolvedProfile;
  outputs: { format: Format; path: string; sha256: string; bytes: number }[];
  manifest: string;
  stages: Record<string, number>;
  cacheHits: Record<string, boolean>;
  /** `<output>/<profile>.build.log`, when the build had a log file. */
  log?: string;
}

function fileDigest(f: string | undefined): string | undefined {
  return f && existsSync(f) ? sha256Text(readFileSync(f)) : undefined;
}

export type Bootstrapper = RootfsInputs['bootstrapper'];
/** The bootstrapper a build uses without `--bootstrapper` (mmdebstrap when installed). */
export function defaultBootstrapper(
  have: (cmd: string) => boolean = (c) => realProbe.which(c) !== undefined,
): Bootstrapper {
  return preferredBootstrapper(have);
}

/**
 * `keys` makes the repos' keys local files (the rootfs key hashes their content): by default
 * key files as they are and URL keys from the cache; the CLI's commands pass repoKeyResolver,
 * which checks every key and downloads pinned ones.
 */
export async function planBuild(
  ref: string,
  overrides: ResolveOverrides,
  cwd = process.cwd(),
  bootstrapper: Bootstrapper = defaultBootstrapper(),
  keys: KeyResolver = cachedKeyResolver(keysDir(defaultCacheDir())),
): Promise<BuildPlan> {
  const profile = await resolveProfile(ref, overrides, cwd);
  const base = getDistro(profile.distro, { mirror: profile.mirror, mirrors: profile.mirrors });
  const distro = profile.kernel?.packages?.length
    ? { ...base, kernelPackages: profile.kernel.packages }
    : base;
  const { ops, packages } = planProfile(profile);
  const k8sRepo = kubernetesRepo(profile);
  const rootfs: RootfsInputs = {
    distro,
    packages,
    repos: await keys([...(profile.repos ?? []), ...(k8sRepo ? [k8sRepo] : [])]),
    blockedPackages: profile.blockedPackages ?? [],
    kubernetesPreferences: kubernetesPreferences(profile),
    bootstrapper,
  };
  const rootfsKey = contentKey({
    v: ROOTFS_STAGE_VERSION,
    distro,
    install: installSet(rootfs),
    repos: rootfs.repos.map((r) => ({ ...r, key: fileDigest(r.key) })),
    blocked: rootfs.blockedPackages,
    pins: rootfs.kubernetesPreferences,
    bootstrapper: rootfs.bootstrapper,
    // a rootfs of a trusted repo keeps its source without `Trusted: yes` (cached ones made before did not)
    ...(rootfs.repos.some((r) => r.trusted && !r.key) ? { trustedSourcesInImage: 'unsigned' } : {}),
  });
  let layout: Layout | undefined;
  if (profile.formats.includes('qcow2')) {
    const { layout: l, issues } = computeLayout(profile.disk?.size, profile.disk?.partitions);
    if (issues.length) throw new ValidationError(profile.sources.at(-1) ?? profile.name, issues);
    layout = l;
  }
  return { profile, distro, ops, rootfs, rootfsKey, layout, warnings: trustedRepoWarnings(profile) };
}

const SQUASHFS_STAGE_VERSION = 1;
const DISK_STAGE_VERSION = 1;

/** What a build writes into its cache folder (work included) and its output folder. */
export function spaceFolders(plan: BuildPlan, opts: BuildOptions): Folder[] {
  const entry = opts.noCache || opts.refresh ? undefined : entryInfo(opts.cacheDir, 'rootfs', plan.rootfsKey);
  const needs = estimateSpace({
    formats: plan.profile.formats,
    packages: installSet(plan.rootfs).length,
    rootfsCached: entry !== undefined,
    rootfsBytes: entry?.bytes,
    diskBytes: plan.layout?.sizeBytes,
    compressQcow2: qcow2Compression(plan.profile.qcow2).compress,
  });
  return [
    { flag: '--cache-dir', dir: opts.cacheDir, needs: needs.cache },
    { flag: '--output', dir: path.resolve(opts.outputDir), needs: needs.output },
  ];
}

/** The cache entry whose reuse a stage's end event reports. */
const CACHE_OF_STAGE: Record<string, string> = { rootfs: 'rootfs', iso: 'squashfs', qcow2: 'disk' };

export async function build(opts: BuildOptions, deps: BuildDeps): Promise<BuildResult> {
  const reporter = deps.reporter ?? new BuildReporter({ profile: opts.profile, tee: deps.logger });
  try {
    return await pipeline(opts, deps, reporter);
  } catch (e) {
    reporter.fail(e, deps.interrupted?.());
    throw e;
  } finally {
    reporter.close();
  }
}

async function pipeline(opts: BuildOptions, deps: BuildDeps, reporter: BuildReporter): Promise<BuildResult> {
  const started = Date.now();
  const logger: Logger = reporter;
  const noSpace = new NoSpaceWatch({
    '--output': path.resolve(opts.outputDir),
    '--cache-dir': opts.cacheDir,
  });
  const runner = noSpace.wrap(scopedRunner(deps.runner, { logger, onProgress: (p) => reporter.progress(p) }));
  const stages = reporter.seconds;
  const cacheHits: Record<string, boolean> = {};
  const checkpoint = () => {
    const sig = deps.interrupted?.();
    if (sig) throw new UserError(`interrupted by ${sig}`);
  };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    checkpoint();
    return reporter.timed(name, fn, () => cacheHits[CACHE_OF_STAGE[name] ?? '']);
  };

  const plan = await timed('plan', () =>
    planBuild(
      opts.profile,
      opts.overrides,
      process.cwd(),
      opts.bootstrapper,
      repoKeyResolver({ runner, dir: keysDir(opts.cacheDir), env: opts.netEnv }),
    ),
  );
  const { profile } = plan;
  const sde = sourceDateEpoch();
  reporter.rename(profile.name);
  reporter.addSecrets(profileSecrets(profile));
  reporter.emit({
    type: 'planned',
    distro: plan.distro.name,
    stages: ['rootfs', 'configure', ...profile.formats],
  });
  for (const w of plan.warnings) logger.warn(w);
  preflight({ formats: profile.formats, bootstrapper: plan.rootfs.bootstrapper, requireRoot: true });
  checkSpace(spaceFolders(plan, opts));
  const configDrive = readConfigDrive({
    userData: opts.userData,
    metaData: opts.metaData,
    networkData: opts.networkData,
  });
  const outDir = path.resolve(opts.outputDir);
  mkdirSync(outDir, { recursive: true });
  const blockDevice = profile.formats.includes('qcow2') ? chooseBlockDevice(opts.blockDevice) : 'loop';

  const cacheRoot = opts.noCache
    ? path.join(opts.cacheDir, 'work', `nocache-${uniqueSuffix()}`)
    : opts.cacheDir;
  const cache = new Cache(cacheRoot, runner, logger);
  await sweepStaleAttachments(runner, path.join(opts.cacheDir, 'attachments'), logger);
  for (const n of await sweepStaleWork(runner, path.join(opts.cacheDir, 'work')))
    logger.info(`removed the work folder of a build that is gone: ${n}`);
  const work = path.join(opts.cacheDir, 'work', `build-${uniqueSuffix()}`);
  mkdirSync(work, { recursive: true });
  const pub = deps.publication ?? new Publication();
  const outputs: BuildResult['outputs'] = [];
  // the shared parts, and every entry the build obtains, are leased to it until the end (finally):
  // `cache prune` keeps them meanwhile
  await cache.useShared(profile.name);
  try {
    // entries derived from the rootfs (squashfs, base disk) are keyed by its build time too,
    // so that --refresh or --max-age rebuilding the rootfs also renews them
    let rootfsStamp = '';
    const rootfs = await timed('rootfs', async () => {
      const r = await obtainRootfs(cache, plan, opts, { runner, logger });
      cacheHits.rootfs = r.hit;
      rootfsStamp = r.stamp;
      return r.tree;
    });

    const kernels = installedKernels(rootfs);
    const kernelVersion = kernels.at(-1);
    if (!kernelVersion)
      throw new UserError(`no kernel in the rootfs ${rootfs}`, 'run with --refresh to rebuild it');

    const layers = path.join(work, 'layers');
    const applyCtx = applyContext({ runner, logger }, opts.netEnv);
    const layerDeps = { runner, logger, netEnv: opts.netEnv, onFailure: opts.onFailure };

    await timed('configure', async () => {
      await withLayer(layerDeps, layers, 'common', [rootfs], async (_merged, inChroot) => {
        await inChroot((chroot) => applyCommonLayer(plan.ops, { ...applyCtx, chroot }));
      });
      // SOURCE_DATE_EPOCH: what the build wrote gets clamped mtimes (the layer is not mounted now)
      if (sde !== undefined) clampTimes(path.join(layers, 'common', 'upper'), sde);
    });

    for (const format of profile.formats) {
      const ctx = CONTEXT_OF[format];
      const final = path.join(outDir, `${profile.name}.${format}`);
      const tmp = pub.aside(final);
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
        await withLayer(layerDeps, layers, ctx, lower, async (merged, inChroot) => {
          await inChroot((chroot) => applyFormatLayer(plan.ops, format, { ...applyCtx, chroot }));
          if (format === 'qcow2') await writeDiskTree(runner, merged, diskTree!);
        });
        if (sde !== undefined) clampTimes(path.join(layers, ctx, 'upper'), sde);
        // the image is made from the finished layer, mounted again
        await withLayer(layerDeps, layers, ctx, lower, async (merged) => {
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
                await mksquashfs(
                  runner,
                  rootfs,
                  out,
                  squashfs,
                  'creating the base live squashfs',
                  'mksquashfs base',
                );
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
              ...qcow2Compression(profile.qcow2),
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
      // staged beside the previous outputs, published together at the very end
      if (opts.signKey) await signFile(runner, tmp, opts.signKey, pub.aside(signatureOf(final)));
      else pub.dropAtCommit(signatureOf(final));
      const sha256 = await pub.checksum(final);
      pub.write(
        sbomOf(final),
        sbomText(final, {
          imageSha256: sha256,
          distro: plan.distro,
          packages: installedPackages(rootfs),
          created: sde ?? Math.floor(Date.now() / 1000),
          toolVersion: TOOL_VERSION,
        }),
      );
      outputs.push({ format, path: final, sha256, bytes: statSync(tmp).size });
    }

    const manifestPath = path.join(outDir, `${profile.name}.manifest.json`);
    const manifest = manifestOf({
      profile,
      distro: plan.distro,
      rootfsKey: plan.rootfsKey,
      kernel: kernelVersion,
      packages: installedPackages(rootfs),
      outputs,
      hostTools: await hostToolVersions(runner),
      stages,
      cacheHits,
      builtAt: sde ?? Date.now() / 1000,
    });
    pub.write(manifestPath, manifestText(manifest));
    await pub.checksum(manifestPath);
    const seconds = (Date.now() - started) / 1000;
    logger.info(
      `done in ${seconds.toFixed(1)}s: ${Object.entries(stages)
        .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
        .join(', ')}`,
    );
    // the log goes beside the images with them, only when the build (or bundle) succeeds: a
    // failed one leaves the output folder as it was (its log stays in the cache's logs/ folder)
    const log = reporter.logFile ? path.join(outDir, `${profile.name}.build.log`) : undefined;
    if (log) reporter.stageLog(pub, log);
    checkpoint();
    if (!deps.publication) for (const f of pub.commit()) logger.info(`wrote ${f}`);
    reporter.emit({
      type: 'result',
      outputs,
      manifest: manifestPath,
      ...(log ? { log } : {}),
      seconds,
      stages,
      cacheHits,
    });
    return { profile, outputs, manifest: manifestPath, stages, cacheHits, log };
  } catch (e) {
    throw noSpace.explain(e);
  } finally {
    if (!deps.publication) pub.discard();
    await removeTree(runner, work).catch((e) =>
      logger.warn(`could not remove ${work}: ${(e as Error).message}`),
    );
    cache.release();
    if (opts.noCache) await removeTree(runner, cacheRoot).catch(() => undefined);
  }
}

/** Seconds since 1970 of an ISO date (a cache entry's createdAt), undefined when there is none. */
function epochOf(iso: string): number | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** pid, time and a random part: builds of one bundle run in the same process, maybe the same ms. */
function uniqueSuffix(): string {
  return `${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

function uuidFor(seed: string): string {
  const h = sha256Text(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
