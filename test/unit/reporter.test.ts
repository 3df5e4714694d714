import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandError, InterruptedError, UserError } from '../../src/errors.ts';
import { type BuildEvent, parseEvent } from '../../src/events.ts';
import { silentLogger } from '../../src/log.ts';
import { BuildReporter, errorEventBody, progressGate } from '../../src/reporter.ts';
import { processRunner, scopedRunner } from '../../src/run/runner.ts';
import { Publication } from '../../src/sys/files.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-reporter-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function reporter(extra: Partial<ConstructorParameters<typeof BuildReporter>[0]> = {}) {
  const events: BuildEvent[] = [];
  let clock = 1_700_000_000_000;
  const r = new BuildReporter({
    profile: 'minimal',
    sink: (e) => events.push(parseEvent(e)),
    now: () => clock,
    ...extra,
  });
  return { r, events, tick: (ms: number) => (clock += ms) };
}

test('begin: a stage ended by its caller ends once, with its time; a later end does nothing', () => {
  const { r, events, tick } = reporter();
  const end = r.begin('disk', () => true);
  tick(1500);
  end(true);
  tick(500);
  end(false);
  assert.equal(
    events.map((e) => [
      e.type,
      'stage' in e ? e.stage : '',
      e.type === 'stage-end' ? [e.seconds, e.ok, e.cacheHit] : [],
    ]),
    [
      ['stage-start', 'disk', []],
      ['stage-end', 'disk', [1.5, true, true]],
    ],
  );
  assert.equal(r.seconds, { disk: 1.5 });
});

test('progressGate: first, completion and news after the interval pass; backwards never', () => {
  assert.ok(progressGate(undefined, { step: 's', fraction: 0.5 }, 0));
  const prev = { fraction: 0.5, at: 1000 };
  assert.not.ok(progressGate(prev, { step: 's', fraction: 0.6 }, 1200), 'too soon');
  assert.ok(progressGate(prev, { step: 's', fraction: 0.6 }, 1500));
  assert.ok(progressGate(prev, { step: 's', fraction: 1 }, 1001), 'completion at once');
  assert.not.ok(progressGate(prev, { step: 's', fraction: 0.4 }, 9000), 'backwards');
  assert.not.ok(progressGate(prev, { step: 's', fraction: 0.5 }, 9000), 'no news');
  assert.ok(progressGate({ done: 3, at: 0 }, { step: 's', done: 4 }, 600));
  assert.not.ok(progressGate({ done: 3, at: 0 }, { step: 's', done: 3 }, 600));
});

test('stages: start and end events with seconds, ok, cache hit; every event has profile and time', async () => {
  const { r, events, tick } = reporter();
  await r.timed(
    'rootfs',
    async () => tick(2500),
    () => true,
  );
  await r.timed('configure', async () => tick(1000));
  await r
    .timed('iso', async () => {
      throw new Error('boom');
    })
    .catch(() => undefined);
  assert.equal(
    events.map((e) => [e.type, 'stage' in e ? e.stage : '']),
    [
      ['stage-start', 'rootfs'],
      ['stage-end', 'rootfs'],
      ['stage-start', 'configure'],
      ['stage-end', 'configure'],
      ['stage-start', 'iso'],
      ['stage-end', 'iso'],
    ],
  );
  const ends = events.filter((e) => e.type === 'stage-end');
  assert.equal(
    ends.map((e) => [e.seconds, e.ok, e.cacheHit]),
    [
      [2.5, true, true],
      [1, true, undefined],
      [0, false, undefined],
    ],
  );
  assert.ok(events.every((e) => e.profile === 'minimal' && /^2023-11-14T22:13:2\d\.\d{3}Z$/.test(e.time)));
  assert.equal(r.seconds, { rootfs: 2.5, configure: 1, iso: 0 });
});

test('progress: throttled, never backwards, the last state sent when the stage ends; none outside a stage', async () => {
  const { r, events, tick } = reporter();
  r.progress({ step: 'x', fraction: 0.1 });
  await r.timed('iso', async () => {
    for (let i = 1; i <= 100; i++) {
      tick(20);
      r.progress({ step: 'mksquashfs', fraction: i / 100 });
      if (i === 50) r.progress({ step: 'mksquashfs', fraction: 0.2 });
    }
    r.progress({ step: 'other', fraction: 0.3 });
    tick(10);
    r.progress({ step: 'other', fraction: 0.35 });
  });
  const p = events.filter((e) => e.type === 'progress');
  const fractions = p.filter((e) => e.step === 'mksquashfs').map((e) => e.fraction!);
  assert.ok(fractions.length >= 4 && fractions.length <= 6, `${fractions.length} events: ${fractions}`);
  assert.ok(
    fractions.every((f, i) => i === 0 || f > fractions[i - 1]!),
    `not increasing: ${fractions}`,
  );
  assert.is(fractions.at(-1), 1);
  // held back by the interval, sent at the end of the stage
  assert.equal(
    p.filter((e) => e.step === 'other').map((e) => e.fraction),
    [0.3, 0.35],
  );
  assert.ok(p.every((e) => e.stage === 'iso'));
  const endAt = events.findIndex((e) => e.type === 'stage-end');
  assert.ok(events.slice(endAt + 1).length === 0, 'progress after the stage end');
});

test('log: messages become events and log lines; secrets and URL credentials masked in both', () => {
  const file = path.join(dir, 'logs', 'a.log');
  const { r, events } = reporter({ logFile: file, secrets: ['hunter2'] });
  assert.not.ok(existsSync(file), 'created before the first line');
  r.info('rootfs: via http://u:pw@proxy:3128 token hunter2');
  r.warn('careful hunter2');
  r.debug('$ apt-get install x');
  r.output('Setting up x ... hunter2');
  r.close();
  const log = readFileSync(file, 'utf8');
  assert.not.match(log, /hunter2|u:pw/);
  assert.match(log, /INFO {2}rootfs: via http:\/\/\*\*\*:\*\*\*@proxy:3128 token \*\*\*/);
  assert.match(log, /DEBUG \$ apt-get install x/);
  assert.match(log, /OUT {3}\| Setting up x \.\.\. \*\*\*/);
  assert.equal(
    events.map((e) => [e.type, 'message' in e ? e.message : '']),
    [
      ['log', 'rootfs: via http://***:***@proxy:3128 token ***'],
      ['warning', 'careful ***'],
    ],
  );
  // verbose: debug lines are events too
  const v = reporter({ verbose: true });
  v.r.debug('$ true');
  assert.equal(
    v.events.map((e) => e.type),
    ['log'],
  );
});

test('the runner logs commands and output into the build log and reports progress as events', async () => {
  const file = path.join(dir, 'run.log');
  const { r, events } = reporter({ logFile: file });
  const runner = scopedRunner(processRunner({ logger: silentLogger }), {
    logger: r,
    onProgress: (p) => r.progress(p),
  });
  const { qemuImgProgress } = await import('../../src/run/progress.ts');
  await r.timed('qcow2', () =>
    runner.run(['sh', '-c', 'echo hello; printf "  (0.00/100%%)\\r  (100.00/100%%)\\r\\n"'], {
      progress: qemuImgProgress('convert'),
    }),
  );
  r.close();
  const log = readFileSync(file, 'utf8');
  assert.match(log, /DEBUG \$ sh -c echo hello/);
  assert.match(log, /OUT {3}\| hello\n/);
  assert.match(log, /OUT {3}\| {3}\(100\.00\/100%\)\n/);
  assert.equal(
    events.filter((e) => e.type === 'progress').map((e) => (e.type === 'progress' ? e.fraction : -1)),
    [0, 1],
  );
});

test('two stages at once (the families): logs and command progress are told as the stage that made them', async () => {
  const { r, events } = reporter();
  const runner = scopedRunner(processRunner({ logger: silentLogger }), {
    logger: r,
    onProgress: (p) => r.progress(p),
  });
  const { qemuImgProgress } = await import('../../src/run/progress.ts');
  // real processes whose output arrives interleaved: the stage comes from where each was started
  const family = (stage: string, pause: string) =>
    r.within(stage, async () => {
      const end = r.begin(stage);
      r.info(`${stage}: begins`);
      await runner.run(
        ['sh', '-c', `printf "  (0.00/100%%)\\r"; sleep ${pause}; printf "  (100.00/100%%)\\r\\n"`],
        { progress: qemuImgProgress(`${stage}-step`) },
      );
      r.info(`${stage}: ends`);
      end(true);
    });
  await Promise.all([family('live', '0.3'), family('disk', '0.1')]);
  for (const stage of ['live', 'disk']) {
    const mine = events.filter(
      (e) =>
        (e.type === 'progress' && e.step === `${stage}-step`) ||
        (e.type === 'log' && e.message.startsWith(`${stage}:`)),
    );
    assert.is(mine.length, 4, JSON.stringify(mine));
    assert.ok(
      mine.every((e) => (e.type === 'progress' || e.type === 'log') && e.stage === stage),
      JSON.stringify(mine),
    );
  }
  // disk started second and ended first: both ends are there, each with its own stage
  const ends = events
    .filter((e) => e.type === 'stage-end')
    .map((e) => (e.type === 'stage-end' ? e.stage : ''));
  assert.equal(ends, ['disk', 'live']);
  assert.is(r.stage, undefined, 'no stage is left current once both ended');
});

test('stageLog copies the log so far, published beside the outputs at commit', async () => {
  const file = path.join(dir, 'p.log');
  const { r } = reporter({ logFile: file });
  r.info('one');
  const dest = path.join(dir, 'minimal.build.log');
  const pub = new Publication();
  r.stageLog(pub, dest);
  assert.not.ok(existsSync(dest), 'nothing in place before commit');
  pub.commit();
  assert.match(readFileSync(dest, 'utf8'), /INFO {2}one\n$/);
  assert.not.ok(existsSync(`${dest}.sha256`));
});

test('a log file that cannot be written (full disk) warns once and the build goes on', () => {
  const blocker = path.join(dir, 'a-file');
  writeFileSync(blocker, 'x');
  const { r, events } = reporter({ logFile: path.join(blocker, 'sub', 'b.log') });
  r.info('one');
  r.debug('$ umount /x');
  r.info('two');
  const warnings = events.filter((e) => e.type === 'warning');
  assert.is(warnings.length, 1);
  assert.match(warnings[0]?.type === 'warning' ? warnings[0].message : '', /could not write the build log/);
});

test('errorEventBody: a failed command, bad input, an interruption, a bug', () => {
  const cmd = errorEventBody(
    new CommandError(['qemu-img', 'convert', 'http://a:b@h/'], 1, 'no space', undefined, 'converting'),
  );
  assert.equal(cmd, {
    type: 'error',
    kind: 'command',
    exitCode: 3,
    message:
      'converting: command exited with code 1: qemu-img convert http://***:***@h/\n--- last lines of its output ---\nno space',
    command: ['qemu-img', 'convert', 'http://***:***@h/'],
    commandExitCode: 1,
    context: 'converting',
    outputTail: 'no space',
  });
  assert.equal(errorEventBody(new UserError('bad --output', 'give a folder')), {
    type: 'error',
    kind: 'input',
    exitCode: 2,
    message: 'bad --output',
    hint: 'give a folder',
  });
  assert.is(errorEventBody(new InterruptedError('SIGINT')).exitCode, 130);
  const killed = errorEventBody(new CommandError(['sleep'], undefined, '', 'SIGTERM'), 'SIGTERM');
  assert.is(killed.kind, 'interrupted');
  assert.is(errorEventBody(new TypeError('x is undefined')).kind, 'internal');
});

test('fail: the error event names the stage that failed and the log', async () => {
  const { r, events } = reporter({ logFile: path.join(dir, 'f.log') });
  const err = new CommandError(['false'], 1, '');
  await r
    .timed('qcow2', async () => {
      throw err;
    })
    .catch(() => undefined);
  const e = r.fail(err);
  assert.is(e.stage, 'qcow2');
  assert.is(e.log, path.join(dir, 'f.log'));
  assert.equal(events.at(-1), parseEvent(e));
  r.close();
});

test.run();
