// Over 300 lines: the plan (planBuild, planStages, the rootfs key, the space estimate) and the pipeline that runs it, kept together so the two cannot drift.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { preferredBootstrapper } from '../native-tools/tools.ts';
import { remoteCacheOf } from './cache/remote.ts';
import { Cache, contentKey, defaultCacheDir, entryInfo } from './cache/store.ts';
import { computeLayout, type Layout } from './disk/layout.ts';
import { getDistro } from './distro/index.ts';
import { preflight, realProbe } from './doctor.ts';
import { UserError, ValidationError } from './errors.ts';
import { FAMILY_STEPS, familyCacheEntry } from './formats/families.ts';
import { formatPlugin, formatsOf } from './formats/index.ts';
import { type MadeOutput, runFamily } from './formats/run.ts';
import { cachedKeyResolver, type KeyResolver, keysDir, repoKeyResolver } from './keys/repo-keys.ts';
import type { Logger } from './log.ts';
import { manifestOf, manifestText } from './manifest.ts';
import { planProfile } from './modules/index.ts';
import { kubernetesPreferences, kubernetesRepo } from './modules/kubernetes.ts';
import { trustedRepoWarnings } from './modules/repos.ts';
import { secureBootWarnings } from './modules/secure-boot.ts';
import { TOOL_VERSION } from './package.ts';
import { familiesOf, outputName } from './profile/formats.ts';
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
  type FailureHook,
  obtainRootfs,
  withLayer,
} from './stages/configure.ts';
import { qcow2Compression } from './stages/disk.ts';
import { readConfigDrive, readSite } from './stages/iso.ts';
import type { BuildPlan, PlannedStage } from './stages/plan.ts';
import {
  INITRAMFS_HOOKS,
  installedKernels,
  installSet,
  ROOTFS_STAGE_VERSION,
  type RootfsInputs,
} from './stages/rootfs.ts';
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
  /** `--cache-from`: a registry repository missing cache entries are pulled from (src/cache/remote.ts). */
  cacheFrom?: string;
  /** `--cache-to`: a registry repository the build's cache entries are pushed to. */
  cacheTo?: string;
  refresh?: boolean;
  maxAgeDays?: number;
  blockDevice?: BlockDeviceKind;
  userData?: string;
  metaData?: string;
  networkData?: string;
  /** `--site DIR`: one ISO per folder, named by it, each with the folder's config drive. */
  sites?: string[];
  /** Environment for network tools (proxy settings). */
  netEnv?: Record<string, string>;
  squashfsThreads?: number;
  /** gpg key that signs each image into `<image>.asc`. */
  signKey?: string;
  /** Bundles: how many profiles configure and pack at once (see src/bundle.ts). */
  jobs?: number;
  /** Called when a configure or image stage fails, before its tree is unmounted (`--debug-shell`). */
  onFailure?: FailureHook;
  /** The plan checkBuildInputs made (and checked) for these options; made here when absent. */
  plan?: BuildPlan;
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
    initramfsHooks: INITRAMFS_HOOKS.map((h) => fileDigest(h.source)),
    // a rootfs of a trusted repo keeps its source without `Trusted: yes` (cached ones made before did not)
    ...(rootfs.repos.some((r) => r.trusted && !r.key) ? { trustedSourcesInImage: 'unsigned' } : {}),
  });
  let layout: Layout | undefined;
  if (familiesOf(profile.formats).includes('disk')) {
    const { layout: l, issues } = computeLayout(profile.disk?.size, profile.disk?.partitions);
    if (issues.length) throw new ValidationError(profile.sources.at(-1) ?? profile.name, issues);
    layout = l;
  }
  const plan: BuildPlan = {
    profile,
    distro,
    ops,
    rootfs,
    rootfsKey,
    layout,
    sourceDateEpoch: sourceDateEpoch(),
    warnings: [...trustedRepoWarnings(profile), ...secureBootWarnings(profile)],
    stages: [],
  };
  plan.stages = planStages(plan);
  return plan;
}

/** Every step of a build, in order (pure): the rootfs, the common layer, each family and its formats. */
export function planStages(plan: Omit<BuildPlan, 'stages'>): PlannedStage[] {
  const { profile } = plan;
  const full = { ...plan, stages: [] };
  return [
    {
      stage: 'rootfs',
      describe: `${plan.distro.name} with ${installSet(plan.rootfs).length} packages (${plan.rootfs.bootstrapper}), cached by key`,
      key: plan.rootfsKey,
    },
    { stage: 'configure', describe: 'the common layer: every operation meant for all images' },
    ...familiesOf(profile.formats).flatMap((family): PlannedStage[] => [
      { stage: family, family, describe: FAMILY_STEPS[family].describe(full) },
      ...formatsOf(family, profile.formats).flatMap((format): PlannedStage[] => {
        // build --site: one ISO per site, the first made in full, the others by xorriso alone
        if (format === 'iso' && plan.sites?.length)
          return plan.sites.map((site) => {
            return {
              stage: `iso:${site}`,
              family,
              format,
              site,
              output: siteIsoName(profile.name, site),
              ...formatPlugin(format).plan(full, site),
            };
          });
        return [
          {
            stage: format,
            family,
            format,
            output: outputName(profile.name, format),
            ...formatPlugin(format).plan(full),
          },
        ];
      }),
    ]),
  ];
}

/** A site's ISO: `<profile>-<site>.iso`. */
export const siteIsoName = (profile: string, site: string) => `${profile}-${site}.iso`;

/**
 * The plan of `build --site DIR...`: one ISO per site folder (named by it) instead of the one ISO.
 * Refused when the profile makes no ISO or two folders have the same name.
 */
export function withSites(plan: BuildPlan, sites: readonly string[]): BuildPlan {
  if (!sites.length) return plan;
  if (!plan.profile.formats.includes('iso'))
    throw new UserError(
      `--site makes one ISO per site, and profile ${plan.profile.name} makes no ISO (formats: ${plan.profile.formats.join(', ')})`,
      'add iso to the formats (--format iso,...), or leave --site out',
    );
  const twice = sites.find((s, i) => sites.indexOf(s) !== i);
  if (twice)
    throw new UserError(
      `--site ${twice} is given twice (site folders are told apart by name)`,
      'give each site folder once',
    );
  const sited = { ...plan, sites: [...sites] };
  return { ...sited, stages: planStages(sited) };
}

/** What a build writes into its cache folder (work included) and its output folder. */
export function spaceFolders(plan: BuildPlan, opts: BuildOptions): Folder[] {
  const entry = opts.noCache || opts.refresh ? undefined : entryInfo(opts.cacheDir, 'rootfs', plan.rootfsKey);
  // a cached rootfs keeps its build time, which keys the entries made from it
  const familiesCached = familiesOf(plan.profile.formats).filter((f) => {
    const e = entry && familyCacheEntry(f, plan, entry.createdAt);
    return e !== undefined && entryInfo(opts.cacheDir, e.kind, e.key) !== undefined;
  });
  const needs = estimateSpace({
    formats: plan.profile.formats,
    packages: installSet(plan.rootfs).length,
    rootfsCached: entry !== undefined,
    rootfsBytes: entry?.bytes,
    familiesCached,
    diskBytes: plan.layout?.sizeBytes,
    compressQcow2: qcow2Compression(plan.profile.qcow2).compress,
    isoCount: plan.sites?.length,
  });
  return [
    { flag: '--cache-dir', dir: opts.cacheDir, needs: needs.cache },
    { flag: '--output', dir: path.resolve(opts.outputDir), needs: needs.output },
  ];
}

/** The cache entry whose reuse a stage's end event reports. */
const CACHE_OF_STAGE: Record<string, string> = {
  rootfs: 'rootfs',
  iso: 'squashfs',
  disk: 'disk',
  qcow2: 'qcow2',
};

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

/**
 * The build, step by step: the plan (made by the caller once, or here), the rootfs, the common
 * layer, each image family with its formats, then checksums, SBOMs and the manifest, published
 * together. Every step is the plan's: `plan --json` prints the same list.
 */
async function pipeline(opts: BuildOptions, deps: BuildDeps, reporter: BuildReporter): Promise<BuildResult> {
  const started = Date.now();
  const logger: Logger = reporter;
  const outDir = path.resolve(opts.outputDir);
  const noSpace = new NoSpaceWatch({ '--output': outDir, '--cache-dir': opts.cacheDir });
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

  const plan = await timed('plan', async () => opts.plan ?? (await checkedPlan(opts, runner)));
  const { profile } = plan;
  const sde = plan.sourceDateEpoch;
  reporter.rename(profile.name);
  reporter.addSecrets(profileSecrets(profile));
  reporter.emit({ type: 'planned', distro: plan.distro.name, stages: plan.stages.map((s) => s.stage) });
  for (const w of plan.warnings) logger.warn(w);
  const configDrive = readConfigDrive({
    userData: opts.userData,
    metaData: opts.metaData,
    networkData: opts.networkData,
  });
  const sites = new Map(
    (opts.sites ?? []).map((d) => {
      const s = readSite(d);
      return [s.name, s.configDrive] as const;
    }),
  );
  mkdirSync(outDir, { recursive: true });
  const needsDisk = plan.stages.some((s) => s.family === 'disk');
  const blockDevice = needsDisk ? chooseBlockDevice(opts.blockDevice) : 'loop';

  const cacheRoot = opts.noCache
    ? path.join(opts.cacheDir, 'work', `nocache-${uniqueSuffix()}`)
    : opts.cacheDir;
  const cache = new Cache(cacheRoot, runner, logger, remoteCacheOf(opts, runner, logger, TOOL_VERSION));
  await sweepStaleAttachments(runner, path.join(opts.cacheDir, 'attachments'), logger);
  for (const n of await sweepStaleWork(runner, path.join(opts.cacheDir, 'work')))
    logger.info(`removed the work folder of a build that is gone: ${n}`);
  const work = path.join(opts.cacheDir, 'work', `build-${uniqueSuffix()}`);
  mkdirSync(work, { recursive: true });
  const pub = deps.publication ?? new Publication();
  // the shared parts, and every entry the build obtains, are leased to it until the end (finally):
  // `cache prune` keeps them meanwhile
  await cache.useShared(profile.name);
  // the manifest's tool versions, asked while the build runs (never rejects: a missing tool reads "not found")
  const hostTools = hostToolVersions(runner);
  try {
    const rootfs = await timed('rootfs', async () => {
      const r = await obtainRootfs(cache, plan, opts, { runner, logger });
      cacheHits.rootfs = r.hit;
      return r;
    });
    const kernelVersion = newestKernel(rootfs.tree);
    const layersDir = path.join(work, 'layers');
    const applyCtx = applyContext({ runner, logger }, opts.netEnv);
    const layerDeps = { runner, logger, netEnv: opts.netEnv, onFailure: opts.onFailure };

    await timed('configure', async () => {
      await withLayer(layerDeps, layersDir, 'common', [rootfs.tree], async (_merged, inChroot) => {
        await inChroot((chroot) => applyCommonLayer(plan.ops, { ...applyCtx, chroot }));
      });
      // SOURCE_DATE_EPOCH: what the build wrote gets clamped mtimes (the layer is not mounted now)
      if (sde !== undefined) clampTimes(path.join(layersDir, 'common', 'upper'), sde);
    });

    // the families are packed at the same time (the ISO's squashfs while the disk is filled and
    // converted): each is its own stage, its logs and progress told as that stage's. A family that
    // fails lets the other finish its cleanup before the build fails with the first error.
    const families = await Promise.allSettled(
      familiesOf(profile.formats).map((family) =>
        reporter.within(family, () =>
          runFamily(family, {
            runner,
            logger,
            plan,
            cache,
            rootfs: rootfs.tree,
            rootfsStamp: rootfs.stamp,
            rootfsMade: !rootfs.hit,
            kernelVersion,
            sourceDateEpoch: sde,
            squashfsThreads: opts.squashfsThreads,
            blockDevice,
            registryDir: path.join(opts.cacheDir, 'attachments'),
            cacheHit: (kind, hit) => {
              cacheHits[kind] = hit;
            },
            layerDeps,
            applyCtx,
            layersDir,
            workDir: work,
            configDrive,
            sites,
            timed,
            begin: (stage) => {
              checkpoint();
              return reporter.begin(stage, () => cacheHits[CACHE_OF_STAGE[stage] ?? '']);
            },
            aside: (final) => pub.aside(final),
            outDir,
            progress: (p) => reporter.progress(p),
          }),
        ),
      ),
    );
    const failed = families.find((f): f is PromiseRejectedResult => f.status === 'rejected');
    if (failed) throw failed.reason;
    const made: MadeOutput[] = families.flatMap((f) => (f.status === 'fulfilled' ? f.value : []));
    checkpoint();

    // staged beside the previous outputs, published together at the very end
    const packages = installedPackages(rootfs.tree);
    const outputs: BuildResult['outputs'] = [];
    for (const m of made)
      outputs.push(await stageExtras(m, { runner, pub, signKey: opts.signKey, plan, packages }));
    const manifestPath = path.join(outDir, `${profile.name}.manifest.json`);
    const manifest = manifestOf({
      profile,
      distro: plan.distro,
      rootfsKey: plan.rootfsKey,
      kernel: kernelVersion,
      packages,
      outputs,
      hostTools: await hostTools,
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

/** The plan of a build whose inputs were not checked by the caller: checked here the same way. */
async function checkedPlan(opts: BuildOptions, runner: Runner): Promise<BuildPlan> {
  const plan = withSites(
    await planBuild(
      opts.profile,
      opts.overrides,
      process.cwd(),
      opts.bootstrapper,
      repoKeyResolver({ runner, dir: keysDir(opts.cacheDir), env: opts.netEnv }),
    ),
    (opts.sites ?? []).map((d) => readSite(d).name),
  );
  preflight({ formats: plan.profile.formats, bootstrapper: plan.rootfs.bootstrapper, requireRoot: true });
  checkSpace(spaceFolders(plan, opts));
  return plan;
}

/** An output's size: a file's, or the sum of a folder's files (the pxe artifact). */
function bytesOf(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((sum, n) => sum + bytesOf(path.join(p, n)), 0);
}

/** The newest kernel of a rootfs (the one its images boot). */
function newestKernel(rootfs: string): string {
  const k = installedKernels(rootfs).at(-1);
  if (!k) throw new UserError(`no kernel in the rootfs ${rootfs}`, 'run with --refresh to rebuild it');
  return k;
}

/** An output's signature (or the removal of an old one), checksum and SBOM, staged for publication. */
async function stageExtras(
  m: MadeOutput,
  c: {
    runner: Runner;
    pub: Publication;
    signKey?: string;
    plan: BuildPlan;
    packages: ReturnType<typeof installedPackages>;
  },
): Promise<BuildResult['outputs'][number]> {
  const { pub, plan } = c;
  const sha256 = await pub.checksum(m.final);
  // a folder (pxe) is signed through the list of its files' checksums
  const signed = statSync(m.staged).isDirectory() ? pub.aside(`${m.final}.sha256`) : m.staged;
  if (c.signKey) await signFile(c.runner, signed, c.signKey, pub.aside(signatureOf(m.final)));
  else pub.dropAtCommit(signatureOf(m.final));
  pub.write(
    sbomOf(m.final),
    sbomText(m.final, {
      imageSha256: sha256,
      distro: plan.distro,
      packages: c.packages,
      created: plan.sourceDateEpoch ?? Math.floor(Date.now() / 1000),
      toolVersion: TOOL_VERSION,
    }),
  );
  return { format: m.format, path: m.final, sha256, bytes: bytesOf(m.staged) };
}

/** pid, time and a random part: builds of one bundle run in the same process, maybe the same ms. */
function uniqueSuffix(): string {
  return `${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}
