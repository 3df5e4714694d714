import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingRunner } from '../../../src/run/runner.ts';
import { removeTree } from '../../../src/sys/files.ts';
import {
  type MountEntry,
  MountScope,
  mountsUnder,
  parseMountInfo,
  realPath,
} from '../../../src/sys/mounts.ts';

/** A mount table the recording runner keeps: `mount ... POINT` adds, `umount ... POINT` removes. */
function fakeKernel() {
  let next = 100;
  const table: MountEntry[] = [{ id: 1, point: '/' }];
  const runner = recordingRunner((argv) => {
    const point = argv.at(-1)!;
    if (argv[0] === 'mount' && !argv.includes('--make-rslave') && !argv.includes('remount,bind,ro'))
      table.push({ id: next++, point });
    if (argv[0] === 'umount') {
      const i = table.map((e) => e.point).lastIndexOf(point);
      if (i >= 0) table.splice(i, 1);
    }
    return undefined;
  });
  return { table, runner, info: () => [...table] };
}

let dir = '';
let real = '';
let link = '';
test.before.each(() => {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'ib-native-mounts-')));
  real = path.join(dir, 'real-cache');
  link = path.join(dir, 'cache-link');
  mkdirSync(path.join(real, 'work/build-1/tree'), { recursive: true });
  mkdirSync(path.join(real, 'packages'), { recursive: true });
  symlinkSync(real, link);
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('parseMountInfo: ids and decoded mount points', () => {
  const text =
    '22 1 0:21 / /proc rw,nosuid - proc proc rw\n' +
    '98 22 0:50 / /var/tmp/with\\040space rw - tmpfs tmpfs rw\n';
  assert.equal(parseMountInfo(text), [
    { id: 22, point: '/proc' },
    { id: 98, point: '/var/tmp/with space' },
  ]);
});

test('realPath: links resolved in the existing part, the rest kept', () => {
  assert.is(realPath(path.join(link, 'work')), path.join(real, 'work'));
  assert.is(realPath(path.join(link, 'not/yet')), path.join(real, 'not/yet'));
});

test('MountScope: a mount made through a symlinked folder is unmounted at its real path', async () => {
  const k = fakeKernel();
  const scope = new MountScope(k.runner, k.info);
  await scope.bind(path.join(link, 'packages'), path.join(link, 'work/build-1/tree'));
  assert.equal(k.runner.calls[0], [
    'mount',
    '--bind',
    path.join(real, 'packages'),
    path.join(real, 'work/build-1/tree'),
  ]);
  await scope.close();
  assert.equal(k.runner.calls.at(-1), ['umount', '--recursive', path.join(real, 'work/build-1/tree')]);
  assert.equal(k.table, [{ id: 1, point: '/' }], 'nothing left mounted');
});

test('MountScope: only what it mounted (by id) is unmounted; a gone mount is skipped', async () => {
  const k = fakeKernel();
  const scope = new MountScope(k.runner, k.info);
  await scope.mount(['-t', 'tmpfs', 'tmpfs'], path.join(real, 'work'));
  k.table.pop(); // unmounted by someone else
  await scope.close();
  assert.not.ok(k.runner.calls.some((c) => c[0] === 'umount'));
});

test('removeTree through a symlinked folder unmounts below the real path and never removes through a mount', async () => {
  const k = fakeKernel();
  k.table.push({ id: 50, point: path.join(real, 'work/build-1/tree') });
  await removeTree(k.runner, path.join(link, 'work/build-1'), k.info);
  assert.equal(k.runner.calls, [
    ['umount', '--recursive', path.join(real, 'work/build-1/tree')],
    ['rm', '-rf', '--one-file-system', '--', path.join(real, 'work/build-1')],
  ]);
  assert.equal(mountsUnder(link, k.info), []);
});

test('removeTree refuses when a mount below cannot be undone', async () => {
  const k = fakeKernel();
  const stuck = recordingRunner();
  k.table.push({ id: 51, point: path.join(real, 'work/build-1/tree') });
  try {
    await removeTree(stuck, path.join(link, 'work'), k.info);
    assert.unreachable('removed through a mount');
  } catch (e) {
    assert.match((e as Error).message, /refusing to remove .*still mounted below it/);
  }
  assert.not.ok(stuck.calls.some((c) => c[0] === 'rm'));
});

test.run();
