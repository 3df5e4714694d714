import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CommandError,
  CommandNotFoundError,
  EXIT,
  exitCodeFor,
  InterruptedError,
} from '../../../src/errors.ts';
import { recordingLogger, silentLogger } from '../../../src/log.ts';
import { aptProgress, type ProgressUpdate, qemuImgProgress } from '../../../src/run/progress.ts';
import { processRunner, recordingRunner, scopedRunner, tail } from '../../../src/run/runner.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-runner-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

test('run: true succeeds; stdout is captured with its final newline', async () => {
  const runner = processRunner({ logger: silentLogger });
  const r = await runner.run(['true']);
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, '');
  const echo = await runner.run(['sh', '-c', 'echo out; echo err >&2']);
  assert.is(echo.stdout, 'out\n');
  assert.is(echo.stderr, 'err\n');
});

test('run: binary gives stdout byte for byte (beyond a pipe buffer, not UTF-8); failures keep stderr', async () => {
  const r = processRunner({ logger: silentLogger });
  const bytes = Buffer.alloc(200_000, 0xff);
  bytes.write('\x00\x80MZ', 1000, 'latin1');
  const file = path.join(dir, 'blob');
  writeFileSync(file, bytes);
  const got = await r.run(['cat', file], { binary: true });
  assert.ok(got.stdoutBytes?.equals(bytes), 'stdout bytes differ');
  assert.is(got.stdout, '');
  const e = await failure(r.run(['sh', '-c', 'echo broken >&2; exit 3'], { binary: true }));
  assert.instance(e, CommandError);
  assert.match(e.message, 'broken');
});

test('run: a failing command gives a CommandError with the command, exit code, context and output tail', async () => {
  const runner = processRunner({ logger: silentLogger });
  const e = await failure(runner.run(['sh', '-c', 'echo oops >&2; exit 3'], { context: 'doing a thing' }));
  assert.instance(e, CommandError);
  const c = e as CommandError;
  assert.is(c.exitCode, 3);
  assert.equal(c.argv, ['sh', '-c', 'echo oops >&2; exit 3']);
  assert.is(c.stderrTail, 'oops');
  assert.is(
    c.message,
    'doing a thing: command exited with code 3: sh -c echo oops >&2; exit 3\n--- last lines of its output ---\noops',
  );
});

test('run: okExitCodes count as success', async () => {
  const runner = processRunner({ logger: silentLogger });
  assert.is((await runner.run(['sh', '-c', 'exit 1'], { okExitCodes: [1] })).exitCode, 1);
});

test('run: fixed locale and noninteractive frontend, base env and per-call env, stdin input', async () => {
  const runner = processRunner({ logger: silentLogger, baseEnv: { FOO: 'base', BAR: 'base' } });
  const r = await runner.run(['sh', '-c', 'echo "$LC_ALL $DEBIAN_FRONTEND $FOO $BAR"'], {
    env: { BAR: 'call' },
  });
  assert.is(r.stdout, 'C.UTF-8 noninteractive base call\n');
  assert.is((await runner.run(['cat'], { input: 'abc' })).stdout, 'abc');
  // stdin is closed otherwise: cat ends at once
  assert.is((await runner.run(['cat'], { timeoutMs: 5000 })).stdout, '');
  assert.is((await runner.run(['pwd'], { cwd: dir })).stdout, `${dir}\n`);
});

test('run: retries count; the command runs again until it succeeds', async () => {
  const logger = recordingLogger();
  const runner = processRunner({ logger });
  const counter = path.join(dir, 'count');
  // fails twice, then succeeds
  const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]`;
  const r = await runner.run(['sh', '-c', script], { retries: 2, retryDelayMs: 5 });
  assert.is(r.exitCode, 0);
  assert.is(readFileSync(counter, 'utf8'), '3\n');
  assert.equal(
    logger.lines.filter((l) => l.startsWith('warn')),
    ['warn sh failed (attempt 1/3); retrying in 0.005s', 'warn sh failed (attempt 2/3); retrying in 0.01s'],
  );
  // one retry is not enough for a command that fails twice
  rmSync(counter);
  const e = await failure(runner.run(['sh', '-c', script], { retries: 1, retryDelayMs: 5 }));
  assert.instance(e, CommandError);
  assert.is(readFileSync(counter, 'utf8'), '2\n');
});

test('run: a program that cannot be found or run is never retried; the error says what, where and what to do', async () => {
  const logger = recordingLogger();
  const runner = processRunner({ logger });
  const t0 = Date.now();
  const e = await failure(runner.run(['ibn-no-such-program', '--x'], { retries: 2, retryDelayMs: 2000 }));
  assert.ok(Date.now() - t0 < 1500, 'it waited for a retry');
  assert.instance(e, CommandNotFoundError);
  const c = e as CommandNotFoundError;
  assert.is(c.where, 'host');
  assert.is(c.program, 'ibn-no-such-program');
  assert.match(
    c.message,
    /^ibn-no-such-program was not found on the build host \(not retried\): ibn-no-such-program --x/,
  );
  assert.match(c.hint, /^install ibn-no-such-program on the build host/);
  assert.is(exitCodeFor(c), EXIT.hostNotReady);
  assert.equal(
    logger.lines.filter((l) => l.startsWith('warn')),
    [],
  );
  // not executable: exit 126
  const file = path.join(dir, 'not-executable');
  writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
  const n = (await failure(runner.run([file], { retries: 2, retryDelayMs: 2000 }))) as CommandNotFoundError;
  assert.instance(n, CommandNotFoundError);
  assert.is(n.exitCode, 126);
  assert.match(n.message, 'could not be run: not executable on the build host');
});

test('run: a command that a script or chroot could not find is not retried either; other failures still are', async () => {
  const runner = processRunner({ logger: silentLogger });
  const counter = path.join(dir, 'count-missing');
  const count = `n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}`;
  // a shell inside that cannot find a program: 127 and "not found"
  const sh = await failure(
    runner.run(['sh', '-c', `${count}; ibn-no-such-tool`], { retries: 2, retryDelayMs: 5 }),
  );
  assert.instance(sh, CommandNotFoundError);
  assert.is((sh as CommandNotFoundError).program, 'ibn-no-such-tool');
  assert.is(readFileSync(counter, 'utf8'), '1\n');
  // mmdebstrap's way: chroot's message in its output, its own exit code
  rmSync(counter);
  const chroot = `${count}; echo "chroot: failed to run command ‘apt-get’: No such file or directory" >&2; exit 1`;
  const mm = (await failure(
    runner.run(['sh', '-c', chroot], { retries: 2, retryDelayMs: 5, context: 'mmdebstrap from M' }),
  )) as CommandNotFoundError;
  assert.instance(mm, CommandNotFoundError);
  assert.is(mm.where, 'chroot');
  assert.is(exitCodeFor(mm), EXIT.commandFailed);
  assert.match(mm.message, /^mmdebstrap from M: apt-get was not found in the chroot \(not retried\)/);
  assert.is(readFileSync(counter, 'utf8'), '1\n');
  // any other failure keeps its retries
  rmSync(counter);
  const other = await failure(runner.run(['sh', '-c', `${count}; exit 1`], { retries: 2, retryDelayMs: 5 }));
  assert.not.instance(other, CommandNotFoundError);
  assert.is(readFileSync(counter, 'utf8'), '3\n');
});

test('run: timeoutMs kills the command', async () => {
  const runner = processRunner({ logger: silentLogger });
  const t0 = Date.now();
  const e = await failure(runner.run(['sleep', '30'], { timeoutMs: 200 }));
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.instance(e, CommandError);
  assert.is((e as CommandError).signal, 'timeout after 200 ms');
  assert.is(e.message, 'command was killed by timeout after 200 ms: sleep 30');
});

test('run: toolTime adds up per program; chroot counts as the program it runs', async () => {
  const runner = processRunner({ logger: silentLogger });
  await runner.run(['sleep', '0.1']);
  await runner.run(['sleep', '0.1']);
  await runner.run(['true']);
  assert.ok(runner.toolTime.get('sleep')! >= 200, String(runner.toolTime.get('sleep')));
  assert.ok(runner.toolTime.get('sleep')! < 3000);
  assert.ok(runner.toolTime.has('true'));
  assert.equal([...runner.toolTime.keys()].sort(), ['sleep', 'true']);
});

test('run: every command is logged before it runs', async () => {
  const logger = recordingLogger();
  await processRunner({ logger }).run(['echo', 'a b'], { cwd: dir });
  assert.is(logger.lines[0], `debug $ echo a b   (in ${dir})`);
  assert.match(logger.lines[1]!, /^debug {3}-> 0 in \d+\.\ds$/);
});

test('run: onOutput sees output as it arrives', async () => {
  const chunks: string[] = [];
  await processRunner({ logger: silentLogger }).run(['sh', '-c', 'echo one; echo two >&2'], {
    onOutput: (c) => chunks.push(c),
  });
  assert.is(chunks.join('').split('\n').sort().join(' ').trim(), 'one two');
});

test('run: killAll stops running commands but critical ones', async () => {
  const runner = processRunner({ logger: silentLogger });
  const plain = runner.run(['sleep', '30']);
  const critical = runner.run(['sleep', '0.5'], { critical: true });
  await new Promise((r) => setTimeout(r, 200));
  runner.killAll('SIGTERM');
  const e = await failure(plain);
  assert.instance(e, CommandError);
  assert.is((e as CommandError).signal, 'SIGTERM');
  assert.is((await critical).exitCode, 0);
});

test('run: once interrupted, only critical commands start; they keep their retries and real errors', async () => {
  let interrupted: string | undefined;
  const runner = processRunner({ logger: silentLogger, isInterrupted: () => interrupted });
  const ran = path.join(dir, 'ran-after-interrupt');
  const counter = path.join(dir, 'interrupted-count');
  // a command running when the signal comes fails as InterruptedError and is not retried
  const running = runner.run(['sh', '-c', `echo x >> ${counter}; sleep 30`], { retries: 3, retryDelayMs: 5 });
  await new Promise((r) => setTimeout(r, 200));
  interrupted = 'SIGINT';
  runner.killAll('SIGTERM');
  const i = await failure(running);
  assert.instance(i, InterruptedError);
  assert.is(i.message, 'interrupted by SIGINT; cleaned up');
  assert.is(readFileSync(counter, 'utf8'), 'x\n');
  // a new step is refused before it starts
  assert.instance(await failure(runner.run(['sh', '-c', `echo x >> ${ran}`])), InterruptedError);
  assert.not.ok(existsSync(ran));
  // cleanup still runs, retries, and reports what really went wrong
  assert.is((await runner.run(['true'], { critical: true })).exitCode, 0);
  const critical = path.join(dir, 'critical-count');
  const c = await failure(
    runner.run(['sh', '-c', `echo x >> ${critical}; exit 1`], {
      critical: true,
      retries: 2,
      retryDelayMs: 5,
    }),
  );
  assert.instance(c, CommandError);
  assert.is(readFileSync(critical, 'utf8'), 'x\nx\nx\n');
});

test('tail: the last lines, trailing blank lines dropped', () => {
  const text = `${Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n')}\n\n`;
  assert.is(tail(text), Array.from({ length: 25 }, (_, i) => `l${i + 5}`).join('\n'));
  assert.is(tail('a\nb\nc', 2), 'b\nc');
  // a progress bar redrawn with \r shows its last state
  assert.is(tail('start\n[=  ] 1%\r[== ] 50%\r[===] 100%\nend\n'), 'start\n[===] 100%\nend');
});

test('run: progress parsed from the output, \r redraws included', async () => {
  const seen: ProgressUpdate[] = [];
  await processRunner({ logger: silentLogger }).run(
    [
      'sh',
      '-c',
      'printf "    (0.00/100%%)\\r    (50.00/100%%)\\r"; sleep 0.1; printf "    (100.00/100%%)\\r\\n"',
    ],
    { progress: qemuImgProgress('convert'), onProgress: (p) => seen.push(p) },
  );
  assert.equal(
    seen.map((p) => p.fraction),
    [0, 0.5, 1],
  );
});

test('run: progress read from file descriptor 3 (apt status), kept out of the output', async () => {
  const seen: ProgressUpdate[] = [];
  const r = await processRunner({ logger: silentLogger }).run(
    [
      'sh',
      '-c',
      'echo "Unpacking x"; echo "pmstatus:x:50.0000:Unpacking x (amd64)" >&3; echo "pmstatus:x:100:Installed x" >&3',
    ],
    { progress: aptProgress('install'), onProgress: (p) => seen.push(p) },
  );
  assert.equal(seen, [
    { step: 'apt install', fraction: 0.5 },
    { step: 'apt install', fraction: 1 },
  ]);
  assert.is(r.stdout, 'Unpacking x\n');
});

test('run: a step the tool left short of 100 % is completed when the command succeeds, not when it fails', async () => {
  const fractions = async (exit: number) => {
    const seen: (number | undefined)[] = [];
    await processRunner({ logger: silentLogger })
      .run(['sh', '-c', `echo "pmstatus:x:97.5:Installed x" >&3; exit ${exit}`], {
        progress: aptProgress('install'),
        onProgress: (p) => seen.push(p.fraction),
      })
      .catch(() => undefined);
    return seen;
  };
  assert.equal(await fractions(0), [0.975, 1]);
  assert.equal(await fractions(1), [0.975]);
});

test('run: the command and every line of its output go to the logger of the call', async () => {
  const base = recordingLogger();
  const mine = { ...recordingLogger(), out: [] as string[] };
  const logger = { ...mine, output: (l: string) => mine.out.push(l) };
  await processRunner({ logger: base }).run(
    ['sh', '-c', 'echo one; printf "bar 1%%\\rbar 100%%\\n"; echo two >&2'],
    {
      logger,
    },
  );
  assert.equal(base.lines, []);
  assert.is(mine.lines[0], 'debug $ sh -c echo one; printf "bar 1%%\\rbar 100%%\\n"; echo two >&2');
  assert.equal(mine.out.sort(), ['bar 100%', 'one', 'two']);
});

test('scopedRunner: its defaults reach every call; a call can still set its own', async () => {
  const logger = recordingLogger();
  const inner = processRunner({ logger: silentLogger });
  const scoped = scopedRunner(inner, { logger });
  await scoped.run(['true']);
  await scoped.run(['echo', 'x'], { logger: silentLogger });
  assert.is(logger.lines.filter((l) => l.startsWith('debug $')).join(), 'debug $ true');
  assert.is(scoped.toolTime, inner.toolTime);
});

test('recordingRunner: records argv and answers from the table', async () => {
  const r = recordingRunner((argv) =>
    argv[0] === 'fail' ? new Error('no') : argv[0] === 'losetup' ? { stdout: '/dev/loop7\n' } : undefined,
  );
  assert.is((await r.run(['losetup', '--find'])).stdout, '/dev/loop7\n');
  assert.equal(await r.run(['x']), { stdout: '', stderr: '', exitCode: 0, durationMs: 0 });
  assert.is((await failure(r.run(['fail']))).message, 'no');
  assert.equal(r.calls, [['losetup', '--find'], ['x'], ['fail']]);
});

test.run();
