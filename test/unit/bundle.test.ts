import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BuildOptions, BuildResult } from '../../src/build.ts';
import { buildBundle, bundleJobs, checkBundleNames, taggedLogger } from '../../src/bundle.ts';
import { UserError } from '../../src/errors.ts';
import { recordingLogger } from '../../src/log.ts';
import { recordingRunner } from '../../src/run/runner.ts';

/** A promise resolved from outside: the tests order the builds with these, never with timers. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
const gates = (names: string[]) => Object.fromEntries(names.map((n) => [n, deferred()]));

/**
 * Waits for a step the bundle must reach. Only a broken bundle (one that never starts a build)
 * gets to the timer: the test then fails with `what` instead of hanging. No ordering rests on it.
 */
async function reached(p: Promise<unknown>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`never happened: ${what}`)), 30_000);
  });
  try {
    await Promise.race([p, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

test('bundle jobs: two at a time even on two cores, one more per two cores, never more than profiles', () => {
  assert.is(bundleJobs(1, 2), 1);
  assert.is(bundleJobs(2, 2), 2);
  assert.is(bundleJobs(3, 2), 2);
  assert.is(bundleJobs(5, 8), 4);
  assert.is(bundleJobs(3, 64), 3);
  assert.is(bundleJobs(4, 2, 1), 1);
  assert.is(bundleJobs(2, 2, 6), 2);
});

test('bundle jobs: a bad --jobs is a user error naming the flag', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    try {
      bundleJobs(2, 2, bad);
      assert.unreachable(`--jobs ${bad} accepted`);
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, /^--jobs must be a whole number/);
    }
  }
});

test('two profiles of a bundle with the same name are refused (same output files)', () => {
  checkBundleNames(['worker', 'control-plane']);
  assert.throws(() => checkBundleNames(['worker', 'cp', 'worker']), /both named "worker"/);
});

test('a tagged logger prefixes every level with the profile', () => {
  const log = recordingLogger();
  const t = taggedLogger(log, 'worker');
  t.info('a');
  t.warn('b');
  t.debug('c');
  assert.equal(log.lines, ['info [worker] a', 'warn [worker] b', 'debug [worker] c']);
});

function opts(profile: string, jobs?: number): BuildOptions {
  return { profile, overrides: {}, outputDir: '/nonexistent/out', cacheDir: '/nonexistent/cache', jobs };
}

function fakeResult(name: string): BuildResult {
  return {
    profile: { name } as BuildResult['profile'],
    outputs: [],
    manifest: `/out/${name}.manifest.json`,
    stages: {},
    cacheHits: {},
  };
}

test('a bundle runs its profiles side by side, at most `jobs` at once, and reports each result', async () => {
  let running = 0;
  let peak = 0;
  const done: string[] = [];
  const started = gates(['a', 'b', 'c']);
  const finish = gates(['a', 'b', 'c']);
  const reported = gates(['a', 'b', 'c']);
  const bundle = buildBundle([opts('a', 2), opts('b', 2), opts('c', 2)], {
    runner: recordingRunner(),
    logger: recordingLogger(),
    onResult: (r) => {
      done.push(r.profile.name);
      reported[r.profile.name]!.resolve();
    },
    buildOne: async (o) => {
      running++;
      peak = Math.max(peak, running);
      started[o.profile]!.resolve();
      await finish[o.profile]!.promise;
      running--;
      return fakeResult(o.profile);
    },
  });
  // a and b run side by side; c waits for a free slot
  await reached(Promise.all([started.a!.promise, started.b!.promise]), 'a and b running at once');
  assert.is(running, 2);
  // b finishes first: c takes its slot while a still runs
  finish.b!.resolve();
  await reached(started.c!.promise, 'c started once b finished');
  assert.equal(done, ['b']);
  assert.is(running, 2);
  finish.c!.resolve();
  await reached(reported.c!.promise, 'c reported');
  finish.a!.resolve();
  const results = await bundle;
  assert.is(peak, 2, 'never more than `jobs` at once');
  assert.equal(
    results.map((r) => r.profile.name),
    ['a', 'b', 'c'],
    'results in profile order',
  );
  assert.equal(done, ['b', 'c', 'a'], 'onResult in completion order');
});

test('the first failure of a bundle is reported; the others stop at their next step', async () => {
  const seen: (string | undefined)[] = [];
  const started: string[] = [];
  const slowRunning = deferred();
  const failureReported = deferred();
  const errors: number[] = [];
  const err = await buildBundle([opts('bad', 2), opts('slow', 2), opts('late', 2)], {
    runner: recordingRunner(),
    logger: recordingLogger(),
    onError: (i) => {
      errors.push(i);
      failureReported.resolve();
    },
    buildOne: async (o, deps) => {
      started.push(o.profile);
      if (o.profile === 'bad') {
        // fails while "slow" is running
        await slowRunning.promise;
        throw new UserError('bad profile broke');
      }
      slowRunning.resolve();
      // the next step of "slow" comes after the bundle has seen the failure
      await failureReported.promise;
      seen.push(deps.interrupted?.());
      if (deps.interrupted?.()) throw new UserError(`interrupted by ${deps.interrupted()}`);
      return fakeResult(o.profile);
    },
  }).catch((e: Error) => e);
  assert.instance(err, UserError);
  assert.is((err as Error).message, 'bad profile broke');
  assert.equal(errors, [0], 'onError once, for the first failure');
  assert.equal(started, ['bad', 'slow'], '"late" never started');
  assert.equal(seen, ['another profile of the bundle failing'], '"slow" was told to stop');
});

test('a signal reaches every build of a bundle', async () => {
  let sig: string | undefined;
  const seen: (string | undefined)[] = [];
  const bothRunning = gates(['a', 'b']);
  const signalled = deferred();
  const err = await buildBundle([opts('a', 2), opts('b', 2)], {
    runner: recordingRunner(),
    logger: recordingLogger(),
    interrupted: () => sig,
    buildOne: async (o, deps) => {
      bothRunning[o.profile]!.resolve();
      if (o.profile === 'a') {
        await bothRunning.b!.promise;
        sig = 'SIGINT';
        signalled.resolve();
      }
      await signalled.promise;
      seen.push(deps.interrupted?.());
      throw new UserError(`interrupted by ${deps.interrupted?.()}`);
    },
  }).catch((e: Error) => e);
  assert.match((err as Error).message, /interrupted by SIGINT/);
  assert.equal(seen, ['SIGINT', 'SIGINT'], 'each build saw the signal');
});

test.run();
