/**
 * Issue 5: removing a work folder never follows a mount inside it. A folder holding a canary
 * is bind-mounted under a work folder; removeTree unmounts it first (or refuses), and the
 * canary survives. Runs in a private mount namespace so the test cannot leak a mount.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.ts';
import { processRunner } from '../../src/run/runner.ts';
import { Chroot } from '../../src/stages/chroot.ts';
import { removeTree } from '../../src/sys/files.ts';
import { isMountPoint, mountPoints } from '../../src/sys/mounts.ts';
import { insideNamespace, reexecInNamespace } from '../../src/sys/namespace.ts';
import { ownScratch } from '../helpers/host.ts';

if (!insideNamespace()) process.exit(await reexecInNamespace());

const DIR = ownScratch('safe-remove');

test('a bind mount under a work folder is unmounted, never emptied', async () => {
  rmSync(DIR, { recursive: true, force: true });
  const precious = path.join(DIR, 'precious');
  const work = path.join(DIR, 'work');
  mkdirSync(precious, { recursive: true });
  mkdirSync(path.join(work, 'tree/dev'), { recursive: true });
  writeFileSync(path.join(precious, 'canary'), 'alive\n');
  const runner = processRunner({ logger: silentLogger });
  await runner.run(['mount', '--bind', precious, path.join(work, 'tree/dev')]);
  assert.ok(isMountPoint(path.join(work, 'tree/dev')));
  await removeTree(runner, work);
  assert.not.ok(existsSync(work), 'work folder still there');
  assert.is(
    readFileSync(path.join(precious, 'canary'), 'utf8'),
    'alive\n',
    'the canary was deleted through the mount',
  );
  rmSync(DIR, { recursive: true, force: true });
});

test('issue 11: a symlinked cache folder: the chroot session unmounts everything, removal keeps the package cache', async () => {
  rmSync(DIR, { recursive: true, force: true });
  const real = path.join(DIR, 'real-cache');
  const link = path.join(DIR, 'cache-link');
  const packages = path.join(real, 'packages');
  const tree = path.join(real, 'work/build-1/tree');
  mkdirSync(packages, { recursive: true });
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  writeFileSync(path.join(packages, 'canary_1.0_all.deb'), 'precious\n');
  symlinkSync(real, link);
  const runner = processRunner({ logger: silentLogger });
  const chroot = await Chroot.open(path.join(link, 'work/build-1/tree'), runner, {
    packageCache: path.join(link, 'packages'),
  });
  try {
    const archives = path.join(tree, 'var/cache/apt/archives');
    assert.ok(isMountPoint(archives), 'the package cache is mounted');
    // apt downloads into it; once sealed, what runs next in the chroot (maintainer scripts) cannot
    // plant a .deb there, while the cache itself stays writable for the build
    writeFileSync(path.join(archives, 'downloaded_1.0_all.deb'), 'by apt\n');
    await chroot.sealPackageCache();
    try {
      writeFileSync(path.join(archives, 'planted_1.0_all.deb'), 'evil\n');
      assert.unreachable('the sealed package cache took a write');
    } catch (e) {
      assert.is((e as NodeJS.ErrnoException).code, 'EROFS');
    }
    assert.not.ok(existsSync(path.join(packages, 'planted_1.0_all.deb')));
    writeFileSync(path.join(packages, 'later_1.0_all.deb'), 'host side\n');
  } finally {
    await chroot.close();
  }
  assert.equal(
    mountPoints().filter((m) => m.startsWith(`${DIR}/`)),
    [],
    'something stayed mounted',
  );
  await removeTree(runner, path.join(link, 'work'));
  assert.not.ok(existsSync(path.join(real, 'work')), 'work folder still there');
  assert.is(readFileSync(path.join(packages, 'canary_1.0_all.deb'), 'utf8'), 'precious\n');
  rmSync(DIR, { recursive: true, force: true });
});

test('issue 11: a chroot session has its own /dev, never the host devtmpfs', async () => {
  rmSync(DIR, { recursive: true, force: true });
  const tree = path.join(DIR, 'tree');
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  const runner = processRunner({ logger: silentLogger });
  const chroot = await Chroot.open(tree, runner);
  const hostDev = statSync('/dev');
  try {
    const dev = path.join(tree, 'dev');
    // the session's own /dev: our nodes only, never the host's devtmpfs
    assert.ok(readdirSync(dev).includes('null'));
    assert.not.ok(
      readdirSync('/dev').every((n) => readdirSync(dev).includes(n)),
      'the host /dev is visible',
    );
    assert.is.not(statSync(dev).dev, hostDev.dev, '/dev is the host devtmpfs');
    for (const n of ['vda', 'sda', 'kvm', 'loop0', 'mem'])
      assert.not.ok(existsSync(path.join(dev, n)), `/dev/${n}`);
  } finally {
    await chroot.close();
  }
  assert.equal(
    mountPoints().filter((m) => m.startsWith(`${DIR}/`)),
    [],
  );
  rmSync(DIR, { recursive: true, force: true });
});

test.run();
