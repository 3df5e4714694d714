import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../../src/log.ts';
import { processRunner } from '../../../src/run/runner.ts';
import { sweepStaleWork, workFolderPid } from '../../../src/sys/files.ts';

test('workFolderPid: the pid of build, shell and nocache folders; nothing for other names', () => {
  assert.is(workFolderPid('build-3979-1795651120869-b10a43'), 3979);
  assert.is(workFolderPid('shell-12-1795651120869'), 12);
  assert.is(workFolderPid('nocache-7-1-aa'), 7);
  assert.is(workFolderPid('notes'), undefined);
  assert.is(workFolderPid('build-x-1'), undefined);
});

test('sweepStaleWork removes folders of dead builds only, keeps live ones and other files', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ibn-work-'));
  for (const n of ['build-111-1-a', 'build-222-1-b', `build-${process.pid}-1-c`, 'keep-me']) {
    mkdirSync(path.join(dir, n));
    writeFileSync(path.join(dir, n, 'f'), 'x');
  }
  const removed = await sweepStaleWork(processRunner({ logger: silentLogger }), dir, (pid) => pid === 222);
  assert.equal(removed, ['build-111-1-a']);
  assert.not.ok(existsSync(path.join(dir, 'build-111-1-a')));
  for (const n of ['build-222-1-b', `build-${process.pid}-1-c`, 'keep-me'])
    assert.ok(existsSync(path.join(dir, n)), n);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
