/**
 * Issue 2: a failed build and an interrupted build (SIGINT, SIGTERM, SIGKILL of the main
 * process) leave no mount, loop device or build process behind, leave the output folder as it
 * was, and the next build succeeds. Uses the rootfs cached by 10-minimal-build.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertCleanHost,
  cli,
  cliProcess,
  DISTRO,
  processesMentioning,
  SCRATCH,
  snapshot,
  workLeft,
  writeProfile,
} from '../helpers/host.ts';

const DIR = path.join(SCRATCH, 'failures');
const OUT = path.join(DIR, 'out');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const profile = (name: string, extra: string) => writeProfile(DIR, name, extra);

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  // a previous good image that a failed build must not destroy
  writeFileSync(path.join(OUT, 'failing.qcow2'), 'previous good image\n');
  writeFileSync(path.join(OUT, 'interrupted.qcow2'), 'previous good image\n');
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
  assert.equal(workLeft(), [], 'work folder left');
  assertCleanHost(assert, 'after a failed build');
});

for (const [signal, waitFor] of [
  ['SIGINT', /qcow2: syncing the configured tree|qcow2: copying the base rootfs/],
  ['SIGTERM', /configure: \d+ common operations applied|qcow2: disk attached/],
  ['SIGKILL', /qcow2: disk attached/],
] as const) {
  test(`${signal} during a build cleans up everything`, async () => {
    const p = profile(
      'interrupted',
      `files: [{ path: '/etc/ib-native-interrupt', content: '${signal}\\n' }]`,
    );
    const before = snapshot(OUT);
    const child = cliProcess([
      'build',
      '--profile',
      p,
      '--distro',
      DISTRO,
      '--format',
      'qcow2',
      '--output',
      OUT,
    ]);
    let log = '';
    const seen = new Promise<void>((resolve) => {
      child.all?.on('data', (d: Buffer) => {
        log += d.toString();
        if (waitFor.test(log)) resolve();
      });
    });
    await Promise.race([seen, child]);
    assert.ok(waitFor.test(log), `never reached ${waitFor}:\n${log.slice(-2000)}`);
    child.kill(signal);
    const r = await child;
    if (signal !== 'SIGKILL') {
      assert.is(r.exitCode, 130, `exit code ${r.exitCode}:\n${log.slice(-1500)}`);
      assert.match(String(r.all), /interrupted by SIG/);
    } else {
      // the inner process (in the mount namespace) gets SIGTERM from unshare --kill-child and cleans up
      for (let i = 0; i < 120 && processesMentioning(p).length; i++) await sleep(500);
      assert.equal(processesMentioning(p), [], 'the inner build is still running 60 s after SIGKILL');
    }
    assert.equal(snapshot(OUT), before, 'output folder changed');
    assert.equal(workLeft(), [], 'work folder left');
    assertCleanHost(assert, `after ${signal}`);
  });
}

test('the next build after interruptions succeeds and reuses the cached rootfs', async () => {
  const p = profile('interrupted', `files: [{ path: '/etc/ib-native-interrupt', content: 'done\\n' }]`);
  const r = await cli(['build', '--profile', p, '--distro', DISTRO, '--format', 'qcow2', '--output', OUT]);
  assert.is(r.exitCode, 0, r.all.slice(-2000));
  assert.match(r.stderr, /rootfs: reused from cache/);
  assertCleanHost(assert, 'after the next build');
});

test.run();
