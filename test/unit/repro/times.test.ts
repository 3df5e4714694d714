import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import {
  clampTime,
  clampTimes,
  isoVolumeDate,
  sourceDateEpoch,
  sourceDateEpochEnv,
  walkTree,
} from '../../../src/repro/times.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-times-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('sourceDateEpoch: unset or empty is undefined; digits are seconds; anything else is a UserError', () => {
  assert.is(sourceDateEpoch({}), undefined);
  assert.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '' }), undefined);
  assert.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }), 1700000000);
  assert.is(sourceDateEpoch({ SOURCE_DATE_EPOCH: '0' }), 0);
  for (const bad of ['-1', '17e8', 'yesterday', '1700000000.5', ' 1700000000'])
    assert.throws(
      () => sourceDateEpoch({ SOURCE_DATE_EPOCH: bad }),
      (e: Error) => e instanceof UserError && e.message.includes(`"${bad}"`) && /git log/.test(e.hint ?? ''),
      bad,
    );
});

test('sourceDateEpochEnv: SOURCE_DATE_EPOCH passed on, or removed when unset', () => {
  assert.equal(sourceDateEpochEnv(1700000000), { SOURCE_DATE_EPOCH: '1700000000' });
  assert.equal(sourceDateEpochEnv(undefined), { SOURCE_DATE_EPOCH: undefined });
});

test('clampTime: later times become the epoch, earlier ones stay', () => {
  assert.is(clampTime(2000, 1000), 1000);
  assert.is(clampTime(999, 1000), 999);
  assert.is(clampTime(1000, 1000), 1000);
});

test('isoVolumeDate: YYYYMMDDhhmmss and 00 centiseconds, in UTC', () => {
  assert.is(isoVolumeDate(0), '1970010100000000');
  assert.is(isoVolumeDate(1700000000), '2023111422132000');
  assert.is(isoVolumeDate(951782400), '2000022900000000');
});

function tree(name: string): string {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, 'b/sub'), { recursive: true });
  mkdirSync(path.join(root, 'a'));
  writeFileSync(path.join(root, 'b/sub/f'), 'x');
  writeFileSync(path.join(root, 'B'), 'x');
  symlinkSync('/nowhere', path.join(root, 'link'));
  return root;
}

test('walkTree: root first, names in byte order, depth first, symlinks not followed, prune keeps the entry', () => {
  const root = tree('walk');
  assert.equal(
    walkTree(root).map((e) => e.rel),
    ['', 'B', 'a', 'b', 'b/sub', 'b/sub/f', 'link'],
  );
  assert.ok(
    walkTree(root)
      .find((e) => e.rel === 'link')!
      .stat.isSymbolicLink(),
  );
  assert.equal(
    walkTree(root, (rel) => rel === 'b').map((e) => e.rel),
    ['', 'B', 'a', 'b', 'link'],
  );
});

test('clampTimes: entries newer than the epoch get it (symlinks themselves), older ones keep their time', () => {
  const root = tree('clamp');
  const epoch = 1700000000;
  utimesSync(path.join(root, 'B'), 1600000000, 1600000000);
  const changed = clampTimes(root, epoch);
  assert.is(changed, 6);
  for (const rel of ['', 'a', 'b', 'b/sub', 'b/sub/f', 'link'])
    assert.is(lstatSync(path.join(root, rel)).mtimeMs, epoch * 1000, rel);
  assert.is(lstatSync(path.join(root, 'B')).mtimeMs, 1600000000 * 1000);
  assert.is(clampTimes(root, epoch), 0, 'a second pass changes nothing');
});

test.run();
