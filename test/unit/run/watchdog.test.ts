import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/log.ts';
import { processRunner } from '../../../src/run/runner.ts';
import { stallMs, watchdog } from '../../../src/run/watchdog.ts';

test('a command that stops making progress is killed by the watchdog, retried, then reported', async () => {
  const runner = processRunner({ logger: silentLogger });
  const t0 = Date.now();
  try {
    await runner.run(['sh', '-c', 'echo started; sleep 30'], { stallMs: 700, retries: 1, retryDelayMs: 10 });
    assert.unreachable('should have been killed');
  } catch (e) {
    assert.instance(e, CommandError);
    assert.match((e as Error).message, /watchdog after 1 s without progress/);
    assert.match((e as Error).message, /started/);
  }
  const took = Date.now() - t0;
  assert.ok(took < 6000, `took ${took} ms`);
  assert.ok(took >= 1400, `two attempts expected, took ${took} ms`);
});

test('a growing output file counts as progress', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ibn-wd-'));
  const file = path.join(dir, 'out');
  const runner = processRunner({ logger: silentLogger });
  // silent on stdout for 2 s, but the file grows every 200 ms
  const r = await runner.run(
    ['sh', '-c', `for i in 1 2 3 4 5 6 7 8 9 10; do echo x >> ${file}; sleep 0.2; done`],
    {
      stallMs: 700,
      watchFile: file,
    },
  );
  assert.is(r.exitCode, 0);
  rmSync(dir, { recursive: true });
});

test('stall time comes from IB_NATIVE_STALL_SECONDS, 180 s by default', () => {
  assert.is(stallMs({}), 180_000);
  assert.is(stallMs({ IB_NATIVE_STALL_SECONDS: '5' }), 5000);
  assert.is(stallMs({ IB_NATIVE_STALL_SECONDS: 'nope' }), 180_000);
  assert.equal(watchdog('/x', {}), { stallMs: 180_000, watchFile: '/x', retries: 1, retryDelayMs: 1000 });
});

test.run();
