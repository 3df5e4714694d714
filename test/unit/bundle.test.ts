import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BuildOptions, BuildResult } from '../../src/build.ts';
import { buildBundle, bundleJobs, checkBundleNames, taggedLogger } from '../../src/bundle.ts';
import { UserError } from '../../src/errors.ts';
import { recordingLogger } from '../../src/log.ts';
import { recordingRunner } from '../../src/run/runner.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  const results = await buildBundle([opts('a', 2), opts('b', 2), opts('c', 2)], {
    runner: recordingRunner(),
    logger: recordingLogger(),
    onResult: (r) => done.push(r.profile.name),
    buildOne: async (o) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(o.profile === 'a' ? 60 : 20);
      running--;
      return fakeResult(o.profile);
    },
  });
  assert.is(peak, 2);
  assert.equal(
    results.map((r) => r.profile.name),
    ['a', 'b', 'c'],
    'results in profile order',
  );
  assert.equal(done, ['b', 'c', 'a'], 'onResult in completion order');
});

test('the first failure of a bundle is reported; the others stop at their next step', async () => {
  const seen: (string | undefined)[] = [];
  const err = await buildBundle([opts('bad', 2), opts('slow', 2), opts('late', 2)], {
    runner: recordingRunner(),
    logger: recordingLogger(),
    buildOne: async (o, deps) => {
      if (o.profile === 'bad') {
        await sleep(10);
        throw new UserError('bad profile broke');
      }
      await sleep(40);
      seen.push(deps.interrupted?.());
      if (deps.interrupted?.()) throw new UserError(`interrupted by ${deps.interrupted()}`);
      return fakeResult(o.profile);
    },
  }).catch((e: Error) => e);
  assert.instance(err, UserError);
  assert.is((err as Error).message, 'bad profile broke');
  assert.equal(
    seen,
    ['another profile of the bundle failing'],
    '"late" never started, "slow" was told to stop',
  );
});

test('a signal reaches every build of a bundle', async () => {
  let sig: string | undefined;
  const err = await buildBundle([opts('a', 2), opts('b', 2)], {
    runner: recordingRunner(),
    logger: recordingLogger(),
    interrupted: () => sig,
    buildOne: async (_o, deps) => {
      sig = 'SIGINT';
      await sleep(5);
      throw new UserError(`interrupted by ${deps.interrupted?.()}`);
    },
  }).catch((e: Error) => e);
  assert.match((err as Error).message, /interrupted by SIGINT/);
});

test.run();
