import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BootFailedError,
  BootTimeoutError,
  cleanConsole,
  consoleCleaner,
  watchConsole,
} from '../../../src/boot/console.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

/** Settles-or-not probe: whether a promise has settled after the pending I/O ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await tick();
  return done;
}

test('cleanConsole strips colours, cursor moves, titles, charsets and carriage returns', () => {
  const raw =
    '\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mSystem Logging\x1b[0m.\r\n' +
    '\x1b]0;title\x07\x1b(B\x1b[?25l\x1b[2J\x1b[H\x1b7\x1bcdone\r\r\n' +
    'half\rway\x00\x7f\n';
  assert.is(cleanConsole(raw), '  OK  ] Started System Logging.\ndone\nhalfway\n');
});

test('consoleCleaner keeps an escape sequence split between chunks whole', () => {
  const c = consoleCleaner();
  let out = c.push('abc\x1b[3');
  assert.is(out, 'abc');
  out += c.push('2mred\x1b');
  out += c.push('[0m line\r');
  out += c.push('\nnext');
  out += c.flush();
  assert.is(out, 'abcred line\nnext');
});

test('resolves when the login prompt appears, with the cleaned console', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { timeoutMs: 2000 });
  s.write('[    0.000000] Linux version 6.1.0\r\n');
  s.write('\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mLogin Prompts\x1b[0m.\r\n');
  s.write('\r\nDebian GNU/Linux 12 localhost ttyS0\r\n\r\nlocalhost lo');
  assert.not.ok(await settled(p), 'half a prompt is not a prompt');
  s.write('gin: ');
  const r = await p;
  assert.ok(r.console.includes('Reached target Login Prompts.'));
  assert.ok(r.console.endsWith('localhost login: '));
  assert.not.ok(r.console.includes('\x1b') || r.console.includes('\r'));
  assert.ok(r.seconds >= 0 && r.seconds < 2);
});

test('waits for every expected string as well as the login prompt', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { expect: ['cloud-init finished', 'seed-ok'], timeoutMs: 2000 });
  s.write('host login: ');
  assert.not.ok(await settled(p), 'login alone is not enough');
  s.write('\r\n[  40.1] cloud-init[700]: \x1b[1mcloud-init finished\x1b[0m at ...\r\n');
  assert.not.ok(await settled(p), 'one expectation still pending');
  s.write('seed-');
  s.write('ok\r\n');
  const r = await p;
  assert.ok(r.console.includes('seed-ok'));
});

test('"Last login:" in the middle of a line is not the login prompt', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { timeoutMs: 2000 });
  s.write('Last login: Mon Jan  1 00:00:00 on ttyS0\r\n');
  assert.not.ok(await settled(p));
  s.end('host login:');
  await p;
});

test('a custom login pattern replaces the default', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { loginPattern: /^ready>$/m, timeoutMs: 2000 });
  s.write('host login: \r\n');
  assert.not.ok(await settled(p));
  s.write('ready>\r\n');
  await p;
});

test('times out with the last 30 lines of the console and what was pending', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { expect: ['never'], timeoutMs: 80 });
  for (let i = 1; i <= 40; i++) s.write(`\x1b[1mline ${i}\x1b[0m\r\n`);
  s.write('host login: ');
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, BootTimeoutError);
  const e = err as BootTimeoutError;
  assert.equal(e.pending, ['"never"']);
  assert.match(e.message, /no "never" on the serial console after 0\.1 s/);
  assert.match(e.message, /line 40\n/);
  assert.match(e.message, /line 12\n/);
  assert.not.match(e.message, /line 11\n/);
  assert.not.ok(e.message.includes('\x1b'));
  assert.is(e.consoleTail.split('\n').length, 30);
  assert.ok(e.console.includes('line 1\n'));
});

test('rejects with BootFailedError when the console closes first', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { timeoutMs: 2000 });
  s.write('Kernel panic - not syncing: VFS: Unable to mount root fs\r\n');
  s.end();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, BootFailedError);
  assert.match((err as Error).message, /the console closed while waiting for login prompt/);
  assert.match((err as Error).message, /Kernel panic/);
});

test('an abort stops the wait', async () => {
  const s = new PassThrough();
  const ac = new AbortController();
  const p = watchConsole(s, { timeoutMs: 2000, signal: ac.signal });
  ac.abort(new Error('SIGINT'));
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, BootFailedError);
  assert.match((err as Error).message, /stopped waiting \(SIGINT\)/);
});

/** Milliseconds to watch `lines` boot lines arriving one byte at a time, and the console seen. */
async function feedByteWise(lines: number): Promise<{ ms: number; console: string }> {
  const s = new PassThrough();
  const p = watchConsole(s, { expect: ['the end'], timeoutMs: 600_000 });
  const line = '\x1b[0;32m  OK  \x1b[0m] Started some.service - Some long description of a unit.\r\n';
  const text = `${line.repeat(lines)}the end\r\nhost login: `;
  const t0 = performance.now();
  for (const ch of text) s.write(ch);
  const r = await p;
  return { ms: performance.now() - t0, console: r.console };
}

// A ratio, not a wall-clock limit, so that a busy machine slows both runs alike. 4x the console
// should take ~4x as long; matching against the whole text (V8 flattening it per chunk) took
// 365 ms for 1000 lines and 177 s for 4000 (~340 KiB, the size of a verbose boot).
test('a console arriving one byte at a time is watched in linear time', async () => {
  const small = Math.min((await feedByteWise(1000)).ms, (await feedByteWise(1000)).ms);
  const large = await feedByteWise(4000);
  assert.ok(
    large.ms < 40 * Math.max(small, 5),
    `4000 lines took ${large.ms.toFixed(0)} ms, 1000 lines ${small.toFixed(0)} ms`,
  );
  assert.match(large.console, /the end\nhost login:\s*$/);
  assert.is(large.console.split('\n').length, 4002);
});

test('a login prompt longer ago than the match window is still found, and strings split across chunks', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { expect: ['seed-ok'], timeoutMs: 2000 });
  s.write('debian login: ');
  s.write(`\n${'x'.repeat(70)}\n`.repeat(500));
  s.write('se');
  s.write('ed-');
  s.write('ok\n');
  const r = await p;
  assert.ok(r.console.startsWith('debian login: '));
  assert.ok(r.console.endsWith('seed-ok\n'));
});

test('an expected string counts once its line has ended, so the values after it are on the console', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { expect: ['IBN-OS'], timeoutMs: 2000 });
  s.write('focal login: \r\n');
  s.write('IBN-OS');
  assert.not.ok(await settled(p), 'the line holding the marker has not ended');
  s.write(' ubuntu 20.04');
  assert.not.ok(await settled(p));
  s.write(' focal\r\n');
  const r = await p;
  assert.match(r.console, /IBN-OS ubuntu 20\.04 focal\n/);
});

test.run();
