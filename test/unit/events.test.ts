import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BuildEvent, eventLine, parseEvent } from '../../src/events.ts';

const at = { profile: 'minimal', time: '2026-11-25T22:10:01.000Z' };
const SHA = 'a'.repeat(64);

/** One event of every type, as `--json` writes them. */
const SAMPLES: BuildEvent[] = [
  { type: 'planned', ...at, distro: 'debian-bookworm', stages: ['rootfs', 'configure', 'iso'] },
  { type: 'stage-start', ...at, stage: 'rootfs' },
  { type: 'progress', ...at, stage: 'rootfs', step: 'apt install', fraction: 0.25 },
  { type: 'progress', ...at, stage: 'rootfs', step: 'debootstrap fetch', done: 12 },
  { type: 'progress', ...at, stage: 'boot', step: 'waiting', fraction: 0.1, done: 30, total: 300, unit: 's' },
  { type: 'stage-end', ...at, stage: 'rootfs', seconds: 1.5, ok: true, cacheHit: true },
  { type: 'log', ...at, level: 'info', message: 'rootfs: reused from cache', stage: 'rootfs' },
  { type: 'warning', ...at, message: 'apt-get failed (attempt 1/3); retrying in 3s' },
  {
    type: 'result',
    ...at,
    outputs: [{ format: 'iso', path: '/o/minimal.iso', sha256: SHA, bytes: 1234 }],
    manifest: '/o/minimal.manifest.json',
    log: '/o/minimal.build.log',
    seconds: 42.1,
    stages: { plan: 0.3, rootfs: 1.5 },
    cacheHits: { rootfs: true },
  },
  {
    type: 'error',
    ...at,
    kind: 'command',
    exitCode: 3,
    message: 'converting to qcow2: command exited with code 1: qemu-img convert ...',
    command: ['qemu-img', 'convert'],
    commandExitCode: 1,
    outputTail: 'qemu-img: error',
    stage: 'qcow2',
    log: '/c/logs/minimal.log',
  },
];

test('schema: every sample event parses back to itself through its JSON line', () => {
  for (const e of SAMPLES) {
    const line = eventLine(e);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line per event');
    assert.equal(parseEvent(JSON.parse(line)), e);
  }
});

test('schema: rejects what a consumer could not rely on', () => {
  const bad: unknown[] = [
    { type: 'stage-start', stage: 'rootfs', time: at.time },
    { type: 'progress', ...at, stage: 'iso', step: 's', fraction: 1.5 },
    { type: 'progress', ...at, stage: 'iso', step: 's', fraction: -0.1 },
    { type: 'stage-end', ...at, stage: 'iso', seconds: 1 },
    { type: 'result', ...SAMPLES[8], outputs: [{ format: 'iso', path: '/x', sha256: 'nope', bytes: 1 }] },
    { type: 'error', ...at, kind: 'oops', exitCode: 3, message: 'x' },
    { type: 'nonsense', ...at },
  ];
  for (const b of bad) assert.throws(() => parseEvent(b), JSON.stringify(b));
});

test.run();
