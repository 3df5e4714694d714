import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../doctor.ts';
import { InternalError } from '../errors.ts';
import type { ApplyContext } from '../ops/apply.ts';
import type { Family, Format } from '../profile/formats.ts';
import { clampTimes } from '../repro/times.ts';
import type { ProgressUpdate } from '../run/progress.ts';
import { memAvailable, workInMemory } from '../space.ts';
import { applyFamilyLayer, type LayerDeps, withLayer } from '../stages/configure.ts';
import type { ConfigDrive } from '../stages/iso.ts';
import type { PlannedStage } from '../stages/plan.ts';
import { removeTree } from '../sys/files.ts';
import { withMounts } from '../sys/mounts.ts';
import { FAMILY_STEPS, type FamilyContext, type FamilySteps } from './families.ts';
import { formatPlugin } from './index.ts';
import { fillCommand } from './types.ts';

/**
 * Executes one family's part of a plan: its stage (the family's layer configured over the common
 * one, its times clamped, then mounted again and its product made), then one stage per format
 * of the family, each running the commands the plan holds for it.
 */

export interface FamilyRun extends Omit<FamilyContext, 'tree' | 'uppers' | 'work'> {
  layerDeps: LayerDeps;
  applyCtx: Omit<ApplyContext, 'chroot'>;
  /** The build's layers folder (`common/upper` is configured already) and work folder. */
  layersDir: string;
  workDir: string;
  configDrive: ConfigDrive;
  /** `build --site`: each site's config drive, by site name (the plan's iso steps name them). */
  sites?: ReadonlyMap<string, ConfigDrive>;
  timed: <T>(stage: string, fn: () => Promise<T>) => Promise<T>;
  /** Starts a stage and returns what ends it (see BuildReporter.begin). */
  begin: (stage: string) => (ok: boolean) => void;
  /** Where an output is staged before it is published under `final`. */
  aside: (final: string) => string;
  outDir: string;
  /** Progress of in-process work, told as the running stage's (BuildReporter.progress). */
  progress: (p: ProgressUpdate) => void;
}

export interface MadeOutput {
  format: Format;
  /** Its published path, and where it is staged until then. */
  final: string;
  staged: string;
}

export async function runFamily(family: Family, r: FamilyRun): Promise<MadeOutput[]> {
  const steps = FAMILY_STEPS[family] as unknown as FamilySteps<Family>;
  const planned = r.plan.stages.filter((s): s is PlannedStage & { format: Format } =>
    Boolean(s.format && s.family === family),
  );
  const common = path.join(r.layersDir, 'common', 'upper');
  const lower = [common, r.rootfs];
  const upper = path.join(r.layersDir, family, 'upper');
  const work = path.join(r.workDir, family);
  mkdirSync(work, { recursive: true });
  // the family's stage: its layer configured, then mounted again and its product made; it ends
  // there, while the layer stays mounted for the formats' stages
  const endFamily = r.begin(family);
  const made: MadeOutput[] = [];
  try {
    await withLayer(r.layerDeps, r.layersDir, family, lower, async (merged, inChroot) => {
      await inChroot((chroot) => applyFamilyLayer(r.plan.ops, family, { ...r.applyCtx, chroot }));
      await steps.finishTree?.(r, merged);
    });
    // SOURCE_DATE_EPOCH: what the layer wrote gets clamped mtimes (it is not mounted now)
    if (r.sourceDateEpoch !== undefined) clampTimes(upper, r.sourceDateEpoch);
    // the outputs are made from the finished layer, mounted again
    await withLayer(r.layerDeps, r.layersDir, family, lower, async (tree) => {
      const ctx: FamilyContext = { ...r, tree, work, uppers: { common, family: upper } };
      await inWorkFolder(r, family, work, steps.workBytes?.(ctx), async () => {
        const product = await steps.prepare(ctx);
        endFamily(true);
        let sitesDone = 0;
        for (const step of planned) {
          const final = path.join(r.outDir, step.output!);
          // the sites' ISOs share one work folder: the first site's ISO tree is the others' too
          const paths = { out: r.aside(final), work: path.join(work, step.format), tree, ...rawOf(product) };
          mkdirSync(paths.work, { recursive: true });
          const site = step.site === undefined ? undefined : { name: step.site, reuse: sitesDone++ > 0 };
          const configDrive = site ? r.sites?.get(site.name) : r.configDrive;
          if (!configDrive) throw new InternalError(`no config drive for site ${step.site}`);
          const how = await r.timed(step.stage, () =>
            formatPlugin(step.format).make({
              runner: r.runner,
              logger: r.logger,
              plan: r.plan,
              profile: r.plan.profile,
              product: product as never,
              paths,
              finalName: path.basename(final),
              commands: (step.commands ?? []).map((c) => fillCommand(c, paths)),
              cache: r.cache,
              sourceDateEpoch: r.sourceDateEpoch,
              configDrive,
              ...(site ? { site } : {}),
              progress: r.progress,
            }),
          );
          if (how === 'skipped') {
            if (!step.unless)
              throw new InternalError(`${step.stage}: skipped commands its plan says it runs`);
            r.logger.info(`${step.stage}: planned commands skipped: ${step.unless}`);
          }
          made.push({ format: step.format, final, staged: paths.out });
        }
      });
      await removeTree(r.runner, work);
    });
  } finally {
    endFamily(false);
  }
  return made;
}

/**
 * Runs `fn` with the family's work folder in memory (a tmpfs, gone with the build's private mount
 * namespace whatever happens) when what it will hold fits (workInMemory); on disk otherwise, or
 * with IB_NATIVE_WORK_IN_MEMORY=0.
 */
async function inWorkFolder(
  r: Pick<FamilyRun, 'runner' | 'logger'>,
  family: Family,
  work: string,
  bytes: number | undefined,
  fn: () => Promise<void>,
): Promise<void> {
  const meminfo = existsSync('/proc/meminfo') ? readFileSync('/proc/meminfo', 'utf8') : '';
  const tmpfs =
    bytes === undefined || process.env.IB_NATIVE_WORK_IN_MEMORY === '0'
      ? undefined
      : workInMemory(bytes, memAvailable(meminfo));
  if (!tmpfs || bytes === undefined) return fn();
  r.logger.info(
    `${family}: work folder in memory (about ${formatBytes(bytes)}; a tmpfs of at most ${formatBytes(tmpfs.size)})`,
  );
  await withMounts(r.runner, async (m) => {
    await m.mount(['-t', 'tmpfs', '-o', `size=${tmpfs.size},mode=0700`, 'ibn-work'], work);
    await fn();
  });
}

const rawOf = (p: { family: Family; raw?: string }) => (p.raw ? { raw: p.raw } : {});
