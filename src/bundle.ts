import os from 'node:os';
import pLimit from 'p-limit';
import { type BuildDeps, type BuildOptions, type BuildResult, build } from './build.ts';
import { UserError } from './errors.ts';
import type { Logger } from './log.ts';
import type { BuildReporter } from './reporter.ts';

/**
 * A bundle: several profiles built in one command (the original's "QCOW bundle"). Profiles whose
 * package sets agree share one rootfs through the stage cache: the first build to need it takes
 * its lock and builds it, the others wait on that lock and reuse it. After that each profile's
 * configure and packing steps are independent, so they run side by side, `jobs` at a time.
 */

/**
 * How many profiles pack at once. Packing is a mix of single-threaded steps (rsync, cp, grub,
 * mtools, xorriso) and multi-threaded ones (mksquashfs, qemu-img), so two at a time pays off even
 * on two cores; beyond that, one more per two cores.
 */
export function bundleJobs(profiles: number, cores: number, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1)
      throw new UserError(
        `--jobs must be a whole number of 1 or more, got ${requested}`,
        'for example --jobs 2',
      );
    return Math.min(profiles, requested);
  }
  return Math.max(1, Math.min(profiles, Math.max(2, Math.floor(cores / 2))));
}

/** Two profiles of one bundle with the same name would write the same output files. */
export function checkBundleNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n))
      throw new UserError(
        `two profiles of the bundle are both named "${n}": they would write the same ${n}.* files`,
        'give each profile its own `name`, or build them into different --output folders',
      );
    seen.add(n);
  }
}

/** Tag every line of a logger with the profile it is about (bundles interleave). */
export function taggedLogger(logger: Logger, tag: string): Logger {
  return {
    info: (m) => logger.info(`[${tag}] ${m}`),
    warn: (m) => logger.warn(`[${tag}] ${m}`),
    debug: (m) => logger.debug(`[${tag}] ${m}`),
  };
}

export interface BundleDeps extends BuildDeps {
  /** The reporter (events, log file) of the i-th profile; without one, lines are tagged. */
  reporterFor?: (opts: BuildOptions, index: number) => BuildReporter | undefined;
  /** Called once, for the first profile that fails. */
  onError?: (index: number, err: unknown) => void;
  /** Called as each profile finishes, in completion order. */
  onResult?: (r: BuildResult) => void;
  /** The build of one profile; injectable for tests. */
  buildOne?: typeof build;
}

/**
 * Build every profile; after the first failure the others stop at their next step (the command
 * running then is left to finish, so nothing is killed half-way outside a signal) and clean up;
 * the first failure is the one reported.
 */
export async function buildBundle(list: readonly BuildOptions[], deps: BundleDeps): Promise<BuildResult[]> {
  const buildOne = deps.buildOne ?? build;
  const depsFor = (opts: BuildOptions, i: number, interrupted: BuildDeps['interrupted']): BuildDeps => {
    const reporter = deps.reporterFor?.(opts, i);
    const tag = opts.profile.replace(/^.*\/|\.(ts|ya?ml|json)$/g, '');
    return {
      runner: deps.runner,
      reporter,
      publication: deps.publication,
      logger: reporter || !deps.logger || list.length === 1 ? deps.logger : taggedLogger(deps.logger, tag),
      interrupted,
    };
  };
  if (list.length === 1) {
    try {
      const r = await buildOne(list[0]!, depsFor(list[0]!, 0, deps.interrupted));
      deps.onResult?.(r);
      return [r];
    } catch (e) {
      deps.onError?.(0, e);
      throw e;
    }
  }
  const limit = pLimit(bundleJobs(list.length, os.availableParallelism(), list[0]?.jobs));
  let firstError: unknown;
  let failed = false;
  const stopped = () =>
    deps.interrupted?.() ?? (failed ? 'another profile of the bundle failing' : undefined);
  const results = await Promise.allSettled(
    list.map((opts, i) =>
      limit(async () => {
        if (stopped()) throw new UserError(`not started: stopped by ${stopped()}`);
        try {
          const r = await buildOne(opts, depsFor(opts, i, stopped));
          deps.onResult?.(r);
          return r;
        } catch (e) {
          if (!failed && !deps.interrupted?.()) {
            failed = true;
            firstError = e;
            deps.onError?.(i, e);
          }
          throw e;
        }
      }),
    ),
  );
  if (failed) throw firstError;
  const rejected = results.find((r) => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results.map((r) => (r as PromiseFulfilledResult<BuildResult>).value);
}
