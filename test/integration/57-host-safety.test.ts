/**
 * Issue 11: nothing in a profile may touch the build host. Real builds (the rootfs from the shared
 * cache) through a symlinked --cache-dir:
 * - `directories: [{path: /var/run, mode: '0700'}]` (a link to /run in bookworm) is refused with
 *   an error naming the link, and the host's /run keeps its mode;
 * - the failed build leaves nothing mounted, no work folder and the package cache as it was;
 * - `files` under /dev and a file:// fetch are validation errors naming the field (exit 2).
 */
import { mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BIN,
  CACHE,
  DISTRO,
  hostMountsUnder,
  ownScratch,
  strayProcesses,
  workLeft,
  writeProfile,
} from '../helpers/host.ts';

const DIR = ownScratch('host-safety');
const LINK = path.join(DIR, 'cache-link');

async function build(profile: string) {
  const r = await execa(
    process.execPath,
    [
      BIN,
      '--cache-dir',
      LINK,
      'build',
      '--profile',
      profile,
      '--distro',
      DISTRO,
      '--output',
      path.join(DIR, 'out'),
    ],
    { reject: false, all: true, stdin: 'ignore', timeout: 40 * 60 * 1000 },
  );
  return { exitCode: r.exitCode ?? -1, all: String(r.all) };
}

/** Names and sizes of the shared .deb cache (what a removal through a mount would destroy). */
function packages(): string[] {
  const dir = path.join(CACHE, 'packages');
  return readdirSync(dir)
    .sort()
    .map((n) => `${n} ${statSync(path.join(dir, n)).size}`);
}

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  symlinkSync(CACHE, LINK);
});
test.after(() => rmSync(DIR, { recursive: true, force: true }));

test('directories /var/run with a mode: refused, the host /run keeps its mode, nothing left behind', async () => {
  const run = statSync('/run').mode;
  const debs = packages();
  const profile = writeProfile(DIR, 'varrun', `directories: [{ path: '/var/run', mode: '0700' }]`);
  const r = await build(profile);
  assert.is.not(r.exitCode, 0, r.all.slice(-3000));
  assert.match(r.all, /\/var\/run is a symbolic link in the image/);
  assert.is(statSync('/run').mode, run, "the host's /run changed mode");
  // other builds may share the cache meanwhile: only what this one could have left is looked at
  assert.equal(hostMountsUnder(CACHE), [], 'mounts left under the cache');
  assert.equal(strayProcesses(LINK), [], 'build processes left');
  assert.equal(workLeft(), [], 'work folders left');
  const now = new Set(packages());
  assert.equal(
    debs.filter((d) => !now.has(d)),
    [],
    'packages removed from the shared cache',
  );
});

test('files under /dev and file:// fetches are refused at validation, naming the field', async () => {
  const dev = writeProfile(DIR, 'devfile', `files: [{ path: '/dev/vda', content: '' }]`);
  const r1 = await build(dev);
  assert.is(r1.exitCode, 2, r1.all);
  assert.match(r1.all, /files\[0\]\.path/);
  assert.match(r1.all, /\/dev\/vda is under \/dev/);
  const fetch = writeProfile(
    DIR,
    'filefetch',
    `fetch: [{ url: 'file:///etc/shadow', sha256: '${'a'.repeat(64)}', name: 'x' }]`,
  );
  const r2 = await build(fetch);
  assert.is(r2.exitCode, 2, r2.all);
  assert.match(r2.all, /fetch\[0\]\.url/);
});

test.run();
