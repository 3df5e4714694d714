import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { displayMode, openDisplay } from '../../../src/display/index.ts';
import { PlainFormatter } from '../../../src/display/plain.ts';
import { renderFrame, renderSummary, TerminalState } from '../../../src/display/terminal.ts';
import { bar, etaSeconds, formatSeconds, percent, plainText } from '../../../src/display/text.ts';
import type { BuildEvent, EventBody } from '../../../src/events.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: what must never reach a pipe
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

let clock = Date.parse('2026-11-25T22:10:00Z');
const ev = (body: EventBody, profile = 'minimal'): BuildEvent =>
  ({ ...body, profile, time: new Date(clock).toISOString() }) as BuildEvent;

/** A whole build's events, messages with escape sequences, tabs and \r included. */
function buildEvents(): BuildEvent[] {
  const out: BuildEvent[] = [
    ev({ type: 'planned', distro: 'debian-bookworm', stages: ['rootfs', 'configure', 'qcow2'] }),
    ev({ type: 'stage-start', stage: 'plan' }),
    ev({ type: 'stage-end', stage: 'plan', seconds: 0.4, ok: true }),
    ev({ type: 'stage-start', stage: 'rootfs' }),
    ev({
      type: 'log',
      level: 'info',
      message: 'rootfs: \x1b[32mgreen\x1b[0m\ttab\n  50%\r 100%',
      stage: 'rootfs',
    }),
    ev({ type: 'stage-end', stage: 'rootfs', seconds: 1.2, ok: true, cacheHit: true }),
    ev({ type: 'stage-start', stage: 'qcow2' }),
  ];
  for (let i = 0; i <= 100; i++) {
    clock += 100;
    out.push(ev({ type: 'progress', stage: 'qcow2', step: 'qemu-img convert', fraction: i / 100 }));
  }
  out.push(
    ev({ type: 'warning', message: 'bell\x07 and\x1b]0;title\x07 osc', stage: 'qcow2' }),
    ev({ type: 'log', level: 'debug', message: '$ qemu-img convert -p' }),
    ev({ type: 'stage-end', stage: 'qcow2', seconds: 10.1, ok: true }),
    ev({
      type: 'result',
      outputs: [{ format: 'qcow2', path: '/o/minimal.qcow2', sha256: 'b'.repeat(64), bytes: 3 * 1024 ** 2 }],
      manifest: '/o/minimal.manifest.json',
      log: '/o/minimal.build.log',
      seconds: 12,
      stages: {},
      cacheHits: {},
    }),
  );
  return out;
}

test('plain: no control character in any line, whatever the messages carry', () => {
  for (const verbose of [false, true]) {
    const f = new PlainFormatter({ verbose });
    const text = buildEvents()
      .map((e) => f.format(e))
      .join('');
    assert.not.match(text, CONTROL);
    assert.ok(text.endsWith('\n'));
    assert.match(text, /\[minimal\] rootfs: green {2}tab\n\S+ \[minimal\] {2}100%\n/);
    assert.match(text, /warning: bell and osc\n/);
    assert.is(text.includes('$ qemu-img convert -p'), verbose);
  }
});

test('plain: timestamped lines for stage start and end, cache hits, result', () => {
  const f = new PlainFormatter();
  const lines = buildEvents()
    .map((e) => f.format(e))
    .join('')
    .trimEnd()
    .split('\n');
  assert.ok(
    lines.every((l) => /^2026-11-25T22:1\d:\d\dZ \[minimal\] /.test(l)),
    lines.join('\n'),
  );
  const rest = lines.map((l) => l.replace(/^\S+ \[minimal\] /, ''));
  for (const l of [
    'plan: debian-bookworm; stages rootfs, configure, qcow2',
    'plan: started',
    'plan: done in 0.4s',
    'rootfs: done in 1.2s (cache hit)',
    'qcow2: started',
    'qcow2: done in 10.1s',
    'built in 12.0s',
    `wrote /o/minimal.qcow2 (3.0 MiB, sha256 ${'b'.repeat(64)})`,
    'log /o/minimal.build.log',
  ])
    assert.ok(rest.includes(l), `missing "${l}" in:\n${rest.join('\n')}`);
});

test('plain: a long step gets one line per tenth, never more, never backwards', () => {
  const f = new PlainFormatter();
  const lines = buildEvents()
    .filter((e) => e.type === 'progress')
    .map((e) => f.format(e))
    .join('')
    .trimEnd()
    .split('\n')
    .map((l) => l.replace(/^\S+ \[minimal\] /, ''));
  assert.equal(
    lines,
    [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((p) => `qcow2: qemu-img convert ${p}%`),
  );
  // jumps print once, repeats and going back print nothing, a new stage starts over
  const g = new PlainFormatter();
  const p = (fraction: number, stage = 'iso') =>
    g.format(ev({ type: 'progress', stage, step: 'mksquashfs', fraction, done: 1, total: 2 }));
  assert.is(p(0.05), '');
  assert.match(p(0.55), /iso: mksquashfs 55% \(1\/2\)\n$/);
  assert.is(p(0.58), '');
  assert.is(p(0.3), '');
  assert.match(p(1), /100%/);
  g.format(ev({ type: 'stage-start', stage: 'iso' }));
  assert.match(p(0.5), /50%/);
  // waits say seconds against the timeout
  assert.match(
    g.format(
      ev({
        type: 'progress',
        stage: 'boot',
        step: 'waiting',
        fraction: 0.2,
        done: 60.4,
        total: 300,
        unit: 's',
      }),
    ),
    /boot: waiting 20% \(60s of 300s\)\n$/,
  );
});

test('terminal: the live list of stages, elapsed times, cache hits, a bar with an estimate', () => {
  const s = new TerminalState();
  const t0 = Date.parse('2026-11-25T22:10:00Z');
  const apply = (e: EventBody, at: number) => s.apply(ev(e), t0 + at);
  apply({ type: 'planned', distro: 'debian-bookworm', stages: ['rootfs', 'configure', 'iso', 'qcow2'] }, 0);
  apply({ type: 'stage-start', stage: 'rootfs' }, 0);
  apply({ type: 'stage-end', stage: 'rootfs', seconds: 1.2, ok: true, cacheHit: true }, 1200);
  apply({ type: 'stage-start', stage: 'configure' }, 1200);
  apply({ type: 'stage-end', stage: 'configure', seconds: 8, ok: true }, 9200);
  apply({ type: 'stage-start', stage: 'iso' }, 9200);
  apply(
    { type: 'log', level: 'info', message: 'iso: mksquashfs of the config-common layer', stage: 'iso' },
    9300,
  );
  apply({ type: 'progress', stage: 'iso', step: 'mksquashfs config-common', fraction: 0.1 }, 10_000);
  apply({ type: 'progress', stage: 'iso', step: 'mksquashfs config-common', fraction: 0.5 }, 14_000);
  const frame = renderFrame(s, t0 + 14_000, { width: 100, tick: 0, color: false });
  assert.is(
    frame,
    [
      'minimal (debian-bookworm)',
      ' ✔ rootfs        1.2s  cache hit',
      ' ✔ configure     8.0s',
      ' ⠋ iso           4.8s  iso: mksquashfs of the config-common layer',
      `     mksquashfs config-common   ${'█'.repeat(12)}${'░'.repeat(12)}  50%  ETA 5.0s`,
      ' · qcow2',
    ].join('\n'),
  );
  // narrow terminals: lines are cut, never wrapped
  const narrow = renderFrame(s, t0 + 14_000, { width: 40, tick: 1, color: false });
  assert.ok(
    narrow.split('\n').every((l) => l.length <= 40),
    narrow,
  );
  // a finished step shows a moment, then only the stage's activity
  apply({ type: 'progress', stage: 'iso', step: 'mksquashfs config-common', fraction: 1 }, 14_100);
  assert.match(renderFrame(s, t0 + 14_500, { width: 100, tick: 0, color: false }), / 100%\n/);
  assert.not.match(
    renderFrame(s, t0 + 16_000, { width: 100, tick: 0, color: false }),
    /mksquashfs config-common/,
  );
  apply({ type: 'stage-end', stage: 'iso', seconds: 5, ok: false }, 14_200);
  assert.match(renderFrame(s, t0 + 15_000, { width: 100, tick: 0, color: false }), / ✖ iso {11}5\.0s\n/);
});

test('terminal: a wait shows seconds against its timeout; the summary lists outputs and the log', () => {
  const s = new TerminalState();
  s.apply(ev({ type: 'stage-start', stage: 'boot' }, 'minimal.qcow2'), 0);
  s.apply(
    ev(
      {
        type: 'progress',
        stage: 'boot',
        step: 'waiting for login:',
        fraction: 0.25,
        done: 75,
        total: 300,
        unit: 's',
      },
      'minimal.qcow2',
    ),
    75_000,
  );
  const frame = renderFrame(s, 75_000, { width: 100, tick: 0, color: false });
  assert.match(frame, / 25% {2}75s \/ 300s$/);
  const r = buildEvents().at(-1)!;
  assert.ok(r.type === 'result');
  assert.is(
    renderSummary(r, false),
    '✔ minimal built in 12.0s\n  /o/minimal.qcow2  3.0 MiB\n  /o/minimal.manifest.json\n  log: /o/minimal.build.log',
  );
});

test('text helpers: plainText, percent, bar, ETA, durations', () => {
  assert.is(plainText('a\x1b[1;31mb\x1b[0m\tc\r\nd\re\x00f'), 'ab  c\nef');
  assert.is(percent(0.999), '99%');
  assert.is(percent(1), '100%');
  assert.is(bar(0.5, 4), '██░░');
  assert.is(etaSeconds({ at: 0, fraction: 0 }, 1000, 0.5), undefined, 'too early');
  assert.is(etaSeconds({ at: 0, fraction: 0.2 }, 10_000, 0.6), 10);
  assert.is(formatSeconds(65), '1m05s');
  assert.is(formatSeconds(3725), '1h02m');
});

test('displayMode: --json, else a terminal unless CI or TERM=dumb, else plain', () => {
  assert.is(displayMode({ json: true, isTTY: true, env: {} }), 'json');
  assert.is(displayMode({ isTTY: true, env: {} }), 'terminal');
  assert.is(displayMode({ isTTY: true, env: { CI: 'true' } }), 'plain');
  assert.is(displayMode({ isTTY: true, env: { CI: 'false' } }), 'terminal');
  assert.is(displayMode({ isTTY: true, env: { TERM: 'dumb' } }), 'plain');
  assert.is(displayMode({ isTTY: false, env: {} }), 'plain');
});

test('json display: one event per line on stdout, nothing on stderr', () => {
  const out: string[] = [];
  const err: string[] = [];
  const fake = (into: string[]) => ({ write: (t: string) => into.push(t) }) as unknown as NodeJS.WriteStream;
  const d = openDisplay('json', { stdout: fake(out), stderr: fake(err) });
  for (const e of buildEvents()) d.sink(e);
  d.close();
  assert.is(out.length, buildEvents().length);
  assert.equal(JSON.parse(out[0]!).type, 'planned');
  assert.equal(err, []);
});

test.run();
