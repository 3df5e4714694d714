/**
 * Issue 2: a failed build leaves no mount, loop device or build process behind and the output
 * folder as it was. Uses the rootfs cached by 10-minimal-build. Interrupted builds (every stage,
 * SIGINT, SIGTERM, SIGKILL) and full disks are in 35-faults.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertCleanHost,
  cacheLeftovers,
  cli,
  DISTRO,
  ownScratch,
  snapshot,
  writeProfile,
} from '../helpers/host.ts';

const DIR = ownScratch('failures');
const OUT = path.join(DIR, 'out');

const profile = (name: string, extra: string) => writeProfile(DIR, name, extra);

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  // a previous good image that a failed build must not destroy
  writeFileSync(path.join(OUT, 'failing.qcow2'), 'previous good image\n');
});

test('a build whose user script fails reports it and changes nothing', async () => {
  const p = profile(
    'failing',
    `userScripts: [{ name: 'boom', content: '#!/bin/sh\\necho boom-from-script >&2\\nexit 7\\n' }]`,
  );
  const before = snapshot(OUT);
  const r = await cli(['build', '--profile', p, '--distro', DISTRO, '--format', 'qcow2', '--output', OUT]);
  assert.is(r.exitCode, 3, r.all.slice(-2000));
  assert.match(r.stderr, /boom-from-script/);
  assert.match(r.stderr, /exited with code 7/);
  assert.match(r.stderr, /full log: /);
  assert.equal(snapshot(OUT), before, 'output folder changed');
  assert.equal(cacheLeftovers(), [], 'the cache holds leftovers');
  assertCleanHost(assert, 'after a failed build');
});

test.run();
