/**
 * The `tar` output (src/stages/tar.ts) on a real tree: ownership, a file capability (the
 * security.capability xattr) and what is left out survive extraction, and two archives of the same
 * tree under SOURCE_DATE_EPOCH are the same bytes. The tree is read through an overlay (upper in
 * scratch) so the capability and owner can be set without writing to it. IB_NATIVE_TAR_TREE points
 * it at another tree (an engine's configured tree); the default is the test cache's bookworm rootfs.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.ts';
import { processRunner } from '../../src/run/runner.ts';
import { buildTar } from '../../src/stages/tar.ts';
import { insideNamespace, reexecInNamespace } from '../../src/sys/namespace.ts';
import { SCRATCH } from '../helpers/host.ts';

if (!insideNamespace()) process.exit(await reexecInNamespace());

const TREE = process.env.IB_NATIVE_TAR_TREE ?? '/var/cache/ibt-ci/rootfs/eeefdc11f8e0e6e6f066447a/tree';
const DIR = path.join(SCRATCH, 'tar');
const EPOCH = 1_700_000_000;
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

test('a tree as tar.zst: owners, a capability, exclusions kept; the same bytes twice', async () => {
  if (!existsSync(path.join(TREE, 'etc/os-release'))) {
    console.log(`skipped: no tree at ${TREE} (set IB_NATIVE_TAR_TREE)`);
    return;
  }
  rmSync(DIR, { recursive: true, force: true });
  const [upper, work, view, out] = ['upper', 'work', 'view', 'out'].map((d) => path.join(DIR, d)) as [
    string,
    string,
    string,
    string,
  ];
  for (const d of [upper, work, view, out]) mkdirSync(d, { recursive: true });
  const runner = processRunner({ logger: silentLogger });
  await runner.run([
    'mount',
    '-t',
    'overlay',
    '-o',
    `lowerdir=${TREE},upperdir=${upper},workdir=${work}`,
    'ibn-tar-test',
    view,
  ]);
  try {
    // a capability and a system user's file (uid 42, _apt on Debian) in the view, and what is left out
    mkdirSync(path.join(view, 'usr/local/bin'), { recursive: true });
    writeFileSync(path.join(view, 'usr/local/bin/probe'), '#!/bin/sh\n', { mode: 0o755 });
    await runner.run(['setcap', 'cap_net_raw=ep', path.join(view, 'usr/local/bin/probe')]);
    writeFileSync(path.join(view, 'var/lib/owned-by-apt'), 'x\n', { mode: 0o640 });
    await runner.run(['chown', '42:65534', path.join(view, 'var/lib/owned-by-apt')]);
    writeFileSync(path.join(view, 'etc/machine-id'), 'abc\n');
    const a = path.join(out, 'a.tar.zst');
    const b = path.join(out, 'b.tar.zst');
    for (const f of [a, b])
      await buildTar(runner, silentLogger, {
        tree: view,
        out: f,
        sourceDateEpoch: EPOCH,
        exclude: ['var/log/*'],
      });
    assert.is(sha256(a), sha256(b), 'two archives of one tree under SOURCE_DATE_EPOCH differ');

    const x = path.join(DIR, 'x');
    mkdirSync(x);
    await runner.run([
      'tar',
      '--extract',
      '--file',
      a,
      '--use-compress-program',
      'zstd',
      '--numeric-owner',
      '--same-permissions',
      '--xattrs',
      '--xattrs-include=*',
      '--acls',
      '--directory',
      x,
    ]);
    const owned = lstatSync(path.join(x, 'var/lib/owned-by-apt'));
    assert.equal([owned.uid, owned.gid, owned.mode & 0o7777], [42, 65534, 0o640]);
    const cap = await runner.run(['getcap', path.join(x, 'usr/local/bin/probe')]);
    assert.match(cap.stdout, /cap_net_raw[=+]ep/);
    // the tree's own owners and modes, e.g. /tmp's sticky bit and the root's
    for (const p of ['tmp', 'etc/shadow', 'usr/bin/su'].filter((q) => existsSync(path.join(TREE, q)))) {
      const [s, t] = [lstatSync(path.join(TREE, p)), lstatSync(path.join(x, p))];
      assert.equal([t.uid, t.gid, t.mode], [s.uid, s.gid, s.mode], p);
    }
    // mtimes clamped to SOURCE_DATE_EPOCH
    assert.ok(lstatSync(path.join(x, 'usr/local/bin/probe')).mtimeMs / 1000 <= EPOCH);
    // what finalize strips, and the caller's own excludes, are not in it; /boot is
    assert.not.ok(existsSync(path.join(x, 'etc/machine-id')));
    assert.equal(existsSync(path.join(x, 'var/log')) ? readdirSync(path.join(x, 'var/log')) : [], []);
    assert.ok(existsSync(path.join(x, 'boot')));
    console.log(`tar.zst: ${lstatSync(a).size} bytes`);
  } finally {
    await runner.run(['umount', view], { critical: true });
  }
  rmSync(DIR, { recursive: true, force: true });
});

test.run();
