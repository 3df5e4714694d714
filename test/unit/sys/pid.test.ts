import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { processesRootedAt, stopProcessesRootedAt } from '../../../src/sys/pid.ts';

function fakeProc(entries: [string, string][]): { dir: string; proc: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-proc-'));
  const proc = path.join(dir, 'proc');
  for (const [pid, root] of entries) {
    mkdirSync(path.join(proc, pid), { recursive: true });
    symlinkSync(root, path.join(proc, pid, 'root'));
  }
  return { dir, proc };
}

test('processesRootedAt: the tree and folders in it, not a sibling with the same prefix', () => {
  const { dir, proc } = fakeProc([
    ['20', '/img/tree'],
    ['21', '/img/tree/srv/inner'],
    ['22', '/img/tree2'],
    ['23', '/'],
  ]);
  try {
    assert.equal(processesRootedAt('/img/tree', proc).sort(), [20, 21]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stopProcessesRootedAt: kills each process rooted in the tree until none is left', async () => {
  const { dir, proc } = fakeProc([
    ['30', '/img/tree'],
    ['31', '/img/tree'],
    ['32', '/elsewhere'],
  ]);
  const killed: number[] = [];
  try {
    const n = await stopProcessesRootedAt('/img/tree', {
      proc,
      kill: (pid) => {
        killed.push(pid);
        // the second one only dies on the second signal (a busy process)
        if (pid !== 31 || killed.filter((k) => k === 31).length > 1)
          rmSync(path.join(proc, String(pid)), { recursive: true });
      },
    });
    assert.is(n, 2);
    assert.equal(killed.sort(), [30, 31, 31]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stopProcessesRootedAt: gives up after its timeout, reporting what it found', async () => {
  const { dir, proc } = fakeProc([['40', '/img/tree']]);
  try {
    assert.is(await stopProcessesRootedAt('/img/tree', { proc, timeoutMs: 50, kill: () => {} }), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
