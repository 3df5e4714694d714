import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NOT_SHIPPED } from '../../../src/modules/finalize.ts';
import { tarArgv } from '../../../src/stages/tar.ts';

test('tarArgv: pax with xattrs, ACLs, numeric owners, sorted, one filesystem, zstd on all cores', () => {
  const a = tarArgv({ tree: '/w/tree', out: '/o/n.tar.zst' });
  assert.equal(a.slice(0, 6), [
    'tar',
    '--create',
    '--file',
    '/o/n.tar.zst',
    '--use-compress-program',
    'zstd -T0 -3',
  ]);
  for (const o of [
    '--format=posix',
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=*',
    '--acls',
    '--sort=name',
    '--one-file-system',
  ])
    assert.ok(a.includes(o), o);
  assert.equal(a.slice(-3), ['--directory', '/w/tree', '.']);
  // no pid in pax header names; times as they are without SOURCE_DATE_EPOCH
  assert.ok(a.includes('--pax-option=exthdr.name=%d/PaxHeaders/%f,globexthdr.name=/tmp/GlobalHead.%n'));
  assert.not.ok(a.some((o) => o.startsWith('--mtime')));
  // excludes anchored at the tree's root: what finalize strips, then the caller's
  const ex = a.filter((o) => o.startsWith('--exclude='));
  assert.equal(
    ex.slice(0, NOT_SHIPPED.length),
    NOT_SHIPPED.map((p) => `--exclude=./${p}`),
  );
  assert.ok(a.indexOf('--anchored') < a.indexOf(ex[0]!));
});

test('tarArgv: SOURCE_DATE_EPOCH clamps mtimes and drops atime and ctime; the level is bounded', () => {
  const a = tarArgv({
    tree: '/t',
    out: '/o.tar.zst',
    sourceDateEpoch: 1700000000,
    exclude: ['/var/log/*'],
    level: 40,
  });
  assert.ok(a.includes('--mtime=@1700000000') && a.includes('--clamp-mtime'));
  assert.ok(a.some((o) => o.startsWith('--pax-option=') && o.endsWith(',delete=atime,delete=ctime')));
  assert.ok(a.includes('--exclude=./var/log/*'));
  assert.ok(a.includes('zstd -T0 -19'));
});

test.run();
