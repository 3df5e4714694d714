import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tryLock, withLock } from '../../../src/cache/lock.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-lock-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that surely is not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync('true');
  return r.pid!;
}

test('tryLock: the first call takes the lock with our pid, the second fails while we live', () => {
  const f = path.join(dir, 'a.lock');
  assert.ok(tryLock(f));
  assert.is(readFileSync(f, 'utf8'), String(process.pid));
  assert.not.ok(tryLock(f));
  assert.is(readFileSync(f, 'utf8'), String(process.pid));
  rmSync(f);
  assert.ok(tryLock(f));
  rmSync(f);
});

test('tryLock: a lock held by a live other process is respected', () => {
  const f = path.join(dir, 'init.lock');
  writeFileSync(f, '1');
  assert.not.ok(tryLock(f));
  assert.is(readFileSync(f, 'utf8'), '1');
  rmSync(f);
});

test('tryLock: a stale lock whose pid is dead is taken over', () => {
  const f = path.join(dir, 'stale.lock');
  writeFileSync(f, String(deadPid()));
  assert.ok(tryLock(f));
  assert.is(readFileSync(f, 'utf8'), String(process.pid));
  rmSync(f);
});

test('tryLock: a missing folder is an error, not a lock', () => {
  assert.throws(() => tryLock(path.join(dir, 'no/such/dir.lock')), /ENOENT/);
});

test('withLock: returns the value and releases; releases when the function throws', async () => {
  const f = path.join(dir, 'w.lock');
  assert.is(
    await withLock(f, async () => {
      assert.ok(existsSync(f));
      return 42;
    }),
    42,
  );
  assert.not.ok(existsSync(f));
  try {
    await withLock(f, async () => {
      throw new Error('boom');
    });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.is((e as Error).message, 'boom');
  }
  assert.not.ok(existsSync(f));
});

test('withLock: a second holder waits (onWait called once) until the first releases', async () => {
  const f = path.join(dir, 'q.lock');
  const order: string[] = [];
  let waits = 0;
  let release!: () => void;
  const first = withLock(f, async () => {
    order.push('first in');
    await new Promise<void>((r) => {
      release = r;
    });
    order.push('first out');
  });
  const second = withLock(
    f,
    async () => {
      order.push('second in');
    },
    () => waits++,
    10,
  );
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(order, ['first in']);
  release();
  await Promise.all([first, second]);
  assert.equal(order, ['first in', 'first out', 'second in']);
  assert.is(waits, 1);
  assert.not.ok(existsSync(f));
});

test.run();
