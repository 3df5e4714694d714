/**
 * Issue 5: removing a work folder never follows a mount inside it. A folder holding a canary
 * is bind-mounted under a work folder; removeTree unmounts it first (or refuses), and the
 * canary survives. Runs in a private mount namespace so the test cannot leak a mount.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../src/log.ts';
import { processRunner } from '../../src/run/runner.ts';
import { removeTree } from '../../src/sys/files.ts';
import { isMountPoint } from '../../src/sys/mounts.ts';
import { insideNamespace, reexecInNamespace } from '../../src/sys/namespace.ts';
import { SCRATCH } from '../helpers/host.ts';

if (!insideNamespace()) process.exit(await reexecInNamespace());

const DIR = path.join(SCRATCH, 'safe-remove');

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

test.run();
