/**
 * Issue 6: what a build tells its users. A real `build --json` of `minimal` (QCOW2, from the
 * shared cached rootfs) is read event by event: every line is a valid event of the profile,
 * stages start and end in order, progress fractions stay in [0,1] and never go back within a
 * step, the result's files exist with the sha256 it gives, and `<output>/minimal.build.log`
 * holds the commands that ran and their output. A piped build (ISO) must write plain
 * timestamped lines with no control character. The programmatic API rejects bad input with the
 * CLI's UserError, and an aborted API build stops and cleans up. About 2 minutes with a warm cache.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BuildEvent, build, InterruptedError, parseEvent, UserError } from '../../src/index.ts';
import { sha256File } from '../../src/sys/files.ts';
import { assertCleanHost, CACHE, cli, DISTRO, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('events');
// biome-ignore lint/suspicious/noControlCharactersInRegex: what must never reach a pipe
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

test.before(() => rmSync(DIR, { recursive: true, force: true }));

test('build --json: ordered stages, progress that never goes back, a result whose files match', async () => {
  const out = path.join(DIR, 'json');
  const r = await cli(
    ['build', '--profile', 'minimal', '--distro', DISTRO, '--format', 'qcow2', '--output', out, '--json'],
    { timeoutMs: 15 * 60 * 1000 },
  );
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  assert.not.match(r.stderr, CONTROL, 'control characters on stderr');
  const events: BuildEvent[] = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line, i) => {
      try {
        return parseEvent(JSON.parse(line));
      } catch (e) {
        throw new Error(`line ${i + 1} is not an event: ${line}\n${(e as Error).message}`);
      }
    });
  assert.ok(
    events.every((e) => e.profile === 'minimal'),
    'an event without the profile name',
  );
  const times = events.map((e) => Date.parse(e.time));
  assert.ok(
    times.every((t, i) => i === 0 || t >= times[i - 1]!),
    'event times go backwards',
  );

  // stages: each starts, then ends, in pipeline order, nothing interleaved
  const planned = events.find((e) => e.type === 'planned');
  assert.ok(planned?.type === 'planned');
  assert.equal(planned.stages, ['rootfs', 'configure', 'disk', 'qcow2']);
  const stageEvents = events.filter((e) => e.type === 'stage-start' || e.type === 'stage-end');
  assert.equal(
    stageEvents.map((e) => `${e.type === 'stage-start' ? '>' : '<'}${e.stage}`),
    [
      '>plan',
      '<plan',
      '>rootfs',
      '<rootfs',
      '>configure',
      '<configure',
      '>disk',
      '<disk',
      '>qcow2',
      '<qcow2',
    ],
  );
  for (const e of stageEvents)
    if (e.type === 'stage-end') {
      assert.ok(e.ok, `${e.stage} not ok`);
      assert.ok(e.seconds >= 0);
    }
  const rootfsEnd = stageEvents.find((e) => e.type === 'stage-end' && e.stage === 'rootfs');
  assert.type(
    rootfsEnd?.type === 'stage-end' && rootfsEnd.cacheHit,
    'boolean',
    'rootfs end without cacheHit',
  );

  // progress: inside its stage, fractions in [0,1], never backwards within a step
  const progress = events.flatMap((e, i) => (e.type === 'progress' ? [{ e, i }] : []));
  assert.ok(progress.length > 0, 'no progress event');
  const lastByStep = new Map<string, number>();
  for (const { e, i } of progress) {
    const start = events.findIndex((x) => x.type === 'stage-start' && x.stage === e.stage);
    const end = events.findIndex((x) => x.type === 'stage-end' && x.stage === e.stage);
    assert.ok(start < i && i < end, `progress of ${e.stage} outside the stage`);
    if (e.fraction === undefined) continue;
    assert.ok(e.fraction >= 0 && e.fraction <= 1, `fraction ${e.fraction}`);
    const key = `${e.stage}/${e.step}`;
    assert.ok(e.fraction >= (lastByStep.get(key) ?? 0), `${key} went back to ${e.fraction}`);
    lastByStep.set(key, e.fraction);
  }
  // the QCOW2 is a whole convert, or (rootfs cached) the comparison with the base disk, after the
  // base disk's convert when its QCOW2 is not cached yet: whichever ran ended at 1
  const qcow2Steps = [...lastByStep].filter(([k]) => k.startsWith('qcow2/'));
  assert.ok(
    qcow2Steps.some(([k]) => /^qcow2\/(qemu-img convert|compare with the base disk)$/.test(k)),
    `no convert or comparison progress: ${[...lastByStep]}`,
  );
  for (const [k, v] of qcow2Steps) assert.is(v, 1, `${k} ended at ${v}: ${[...lastByStep]}`);

  // the result: the last event; its files exist and match their checksums
  const result = events.at(-1)!;
  assert.is(result.type, 'result');
  assert.ok(result.type === 'result');
  assert.is(result.outputs.length, 1);
  for (const o of result.outputs) {
    assert.ok(existsSync(o.path), `${o.path} missing`);
    assert.is(await sha256File(o.path), o.sha256, `${o.path}: sha256 differs`);
    assert.is(readFileSync(`${o.path}.sha256`, 'utf8').split(' ')[0], o.sha256);
  }
  assert.ok(existsSync(result.manifest), 'manifest missing');
  const manifest = JSON.parse(readFileSync(result.manifest, 'utf8'));
  assert.equal(manifest.outputs[0].sha256, result.outputs[0]!.sha256);

  // the full log beside the images: the commands that ran and their output
  assert.is(result.log, path.join(out, 'minimal.build.log'));
  const log = readFileSync(result.log!, 'utf8');
  // a whole convert, or the comparison's map of the raw disk then qemu-io's writes
  assert.match(log, / DEBUG \$ (qemu-img convert -f raw -O qcow2 .* -p |qemu-io -f qcow2 )/);
  assert.match(log, / DEBUG \$ rsync --archive /);
  assert.match(log, / OUT {3}\| /, 'no command output in the log');
  assert.match(log, /stage qcow2: done in/);
  assertCleanHost(assert, 'after the --json build');
});

test('piped stderr: plain timestamped lines, no control character, paths on stdout', async () => {
  const out = path.join(DIR, 'plain');
  const r = await cli(
    ['build', '--profile', 'minimal', '--distro', DISTRO, '--format', 'iso', '--output', out],
    {
      timeoutMs: 15 * 60 * 1000,
    },
  );
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  assert.not.match(r.stderr, CONTROL, 'control characters on stderr');
  const lines = r.stderr.trimEnd().split('\n');
  const bad = lines.filter((l) => !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[minimal\] \S/.test(l));
  assert.equal(bad, [], 'lines without a timestamp and profile');
  for (const want of [
    / iso: started$/,
    / iso: done in \S+s( \(cache hit\))?$/,
    / rootfs: done in \S+/,
    / built in /,
  ])
    assert.ok(
      lines.some((l) => want.test(l)),
      `no line like ${want}:\n${r.stderr}`,
    );
  assert.equal(r.stdout.trim().split('\n'), [
    path.join(out, 'minimal.iso'),
    path.join(out, 'minimal.manifest.json'),
  ]);
  assert.ok(existsSync(path.join(out, 'minimal.build.log')));
});

test('the API: bad input rejects with the UserError the CLI prints, and writes nothing', async () => {
  const out = path.join(DIR, 'api');
  const events: BuildEvent[] = [];
  const err = await build({
    profile: 'minimal',
    distro: DISTRO,
    formats: ['iso'],
    output: out,
    cacheDir: CACHE,
    userData: path.join(DIR, 'no-such-user-data'),
    onEvent: (e) => events.push(e),
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, UserError);
  assert.match((err as UserError).message, /--user-data file not found/);
  assert.equal(
    events.map((e) => e.type),
    ['error'],
  );
  assert.ok(events[0]?.type === 'error' && events[0].kind === 'input' && events[0].exitCode === 2);
  assert.not.ok(existsSync(out), 'the output folder was created');
});

test('the API: events reach onEvent as they happen; aborting stops the build, which cleans up', async () => {
  const out = path.join(DIR, 'api-abort');
  const controller = new AbortController();
  const seen: string[] = [];
  const err = await build({
    profile: 'minimal',
    distro: DISTRO,
    formats: ['iso'],
    output: out,
    cacheDir: CACHE,
    signal: controller.signal,
    onEvent: (e) => {
      seen.push(e.type === 'stage-start' || e.type === 'stage-end' ? `${e.type} ${e.stage}` : e.type);
      if (e.type === 'stage-start' && e.stage === 'iso') controller.abort();
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, InterruptedError, String(err));
  assert.ok(seen.includes('stage-end configure'), seen.join(', '));
  assert.is(seen.at(-1), 'error');
  assert.ok(!existsSync(path.join(out, 'minimal.iso')), 'an image was published');
  assertCleanHost(assert, 'after an aborted API build');
});

test.run();
