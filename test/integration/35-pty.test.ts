/**
 * Issue 6: interactive debugging, driven through a real pseudo-terminal (node-pty) as a person
 * would: `ib-native shell` in a configured tree, `build --debug-shell` at a failing user script, and
 * `boot --console` on a minimal QCOW2 with the Ctrl-] detach key. After each: the exit status is
 * the expected one and nothing is left (mounts, loop devices, work folders, processes, changes in
 * the cached rootfs). Uses the rootfs cached by 10-minimal-build.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as pty from 'node-pty';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanConsole } from '../../src/boot/console.ts';
import {
  assertCleanHost,
  BIN,
  CACHE,
  cli,
  DISTRO,
  ownScratch,
  processesMentioning,
  REPO,
  SCRATCH,
  snapshot,
  workLeft,
  writeProfile,
} from '../helpers/host.ts';

const DIR = ownScratch('pty');
const OUT = path.join(DIR, 'out');
/** The boot's temporary folder (overlay, seed) goes here, so that the test can see it removed. */
const BOOT_TMP = path.join(DIR, 'boot-tmp');
const BOOT_TIMEOUT_MS = Number(process.env.IB_NATIVE_BOOT_TIMEOUT ?? '600') * 1000;
/** Waiting for the first prompt covers building the rootfs when 10-minimal-build has not cached it. */
const FIRST_PROMPT_MS = 40 * 60 * 1000;
const COLS = 120;
const ROWS = 40;

/** ib-native in a pseudo-terminal: what it printed (escapes removed), typing, its exit code. */
function session(args: string[], env: Record<string, string> = {}) {
  const term = pty.spawn(process.execPath, [BIN, '--cache-dir', CACHE, ...args], {
    name: 'xterm',
    cols: COLS,
    rows: ROWS,
    cwd: REPO,
    env: { ...(process.env as Record<string, string>), TERM: 'xterm', ...env },
  });
  let raw = '';
  term.onData((d) => {
    raw += d;
    if (process.env.TEST_VERBOSE) process.stderr.write(d);
  });
  const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  const text = () => cleanConsole(raw);
  return {
    text,
    type: (keys: string) => term.write(keys),
    exited,
    /** Resolves when `re` matches the output (after `from` characters); fails with the output's tail. */
    async waitFor(re: RegExp, ms: number, from = 0): Promise<void> {
      const t0 = Date.now();
      let done = false;
      exited.then(() => {
        done = true;
      });
      while (!re.test(text().slice(from))) {
        if (done) throw new Error(`exited before ${re}:\n${text().slice(-3000)}`);
        if (Date.now() - t0 > ms) throw new Error(`no ${re} after ${ms / 1000} s:\n${text().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    kill: () => term.kill('SIGKILL'),
  };
}

/** `build` of a QCOW2 into OUT. */
const qcow2Build = (profile: string, ...more: string[]) => [
  'build',
  '-p',
  profile,
  '--distro',
  DISTRO,
  '--format',
  'qcow2',
  '-o',
  OUT,
  ...more,
];

/** Cached rootfs trees: what a shell changes must never reach them. */
function rootfsTrees(): string[] {
  const dir = path.join(CACHE, 'rootfs');
  return existsSync(dir) ? readdirSync(dir).map((k) => path.join(dir, k, 'tree')) : [];
}

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  mkdirSync(BOOT_TMP, { recursive: true });
});

test('shell without a terminal is refused with a hint', async () => {
  const r = await cli(['shell', '--profile', 'minimal', '--distro', DISTRO]);
  assert.is(r.exitCode, 2, r.all.slice(-2000));
  assert.match(r.stderr, /needs a terminal/);
  assert.match(r.stderr, /hint: .*ssh -t/);
});

test('ib-native shell: the configured tree, the terminal passed through, the exit status back, nothing left', async () => {
  const p = writeProfile(DIR, 'pty-sysctl', `sysctl: { 'vm.swappiness': '13' }`);
  const s = session(['shell', '--profile', p, '--distro', DISTRO]);
  try {
    await s.waitFor(/\(ib-native:pty-sysctl\)root@[^\n]*# $/, FIRST_PROMPT_MS);
    assert.match(s.text(), /Changes made in this shell are discarded/);
    const mark = s.text().length;
    s.type(
      'cat /etc/sysctl.d/99-ib-native.conf; stty size; touch /etc/ib-native-shell-was-here; echo "end-$((6*7))"\r',
    );
    await s.waitFor(/end-42/, 30000, mark);
    const out = s.text().slice(mark);
    assert.match(out, /^vm\.swappiness = 13$/m, 'the profile sysctl file, written by the configure layer');
    assert.match(out, new RegExp(`^${ROWS} ${COLS}$`, 'm'), 'the shell has the terminal size');
    s.type('exit 3\r');
    assert.is(await s.exited, 3, s.text().slice(-2000));
  } finally {
    s.kill();
  }
  assert.equal(workLeft(), [], 'work folder left');
  for (const tree of rootfsTrees())
    assert.not.ok(existsSync(path.join(tree, 'etc/ib-native-shell-was-here')), `the shell changed ${tree}`);
  assertCleanHost(assert, 'after ib-native shell');
});

test('build --debug-shell: a shell where the user script failed, then the build fails and cleans up', async () => {
  const p = writeProfile(
    DIR,
    'pty-failing',
    `userScripts: [{ name: 'boom', content: '#!/bin/sh\\necho left-by-boom > /root/boom-evidence\\necho boom-from-script >&2\\nexit 7\\n' }]`,
  );
  writeFileSync(path.join(OUT, 'pty-failing.qcow2'), 'previous good image\n');
  const before = snapshot(OUT);
  const s = session(qcow2Build(p, '--debug-shell'));
  try {
    await s.waitFor(/\(ib-native:configure-failed\)root@[^\n]*# $/, FIRST_PROMPT_MS);
    assert.match(s.text(), /the configure stage failed: .*user script boom: command exited with code 7/);
    const mark = s.text().length;
    s.type(
      'cat /root/boom-evidence; test -r /proc/self/status && echo proc-mounted; test -e /usr/sbin/policy-rc.d && echo policy-in-place; echo "end-$((6*7))"\r',
    );
    await s.waitFor(/end-42/, 30000, mark);
    const out = s.text().slice(mark);
    assert.match(out, /^left-by-boom$/m, 'the file the failed step left');
    assert.match(out, /^proc-mounted$/m, 'the chroot mounts are in place');
    assert.match(out, /^policy-in-place$/m, 'the chroot session is the one of the failed step');
    s.type('exit\r');
    assert.is(await s.exited, 3, s.text().slice(-2000));
  } finally {
    s.kill();
  }
  assert.match(s.text(), /boom-from-script/);
  assert.match(s.text(), /exited with code 7/);
  assert.equal(snapshot(OUT), before, 'output folder changed');
  assert.equal(workLeft(), [], 'work folder left');
  assertCleanHost(assert, 'after build --debug-shell');
});

test('boot --console: the serial console on the terminal, keys reach the guest, Ctrl-] detaches and cleans up', async () => {
  // the QCOW2 of 10-minimal-build when there is one (booting never changes it), else one built here
  let image = path.join(SCRATCH, 'minimal-out', 'minimal.qcow2');
  if (!existsSync(image)) {
    const built = await cli(qcow2Build('minimal'));
    assert.is(built.exitCode, 0, built.all.slice(-2000));
    image = path.join(OUT, 'minimal.qcow2');
  }
  const seed = path.join(DIR, 'seed');
  mkdirSync(seed, { recursive: true });
  writeFileSync(path.join(seed, 'user-data'), '#cloud-config\n{}\n');
  const s = session(['boot', image, '--console', '--seed', seed], { TMPDIR: BOOT_TMP });
  try {
    await s.waitFor(/press Ctrl-\] to detach/, 60000);
    await s.waitFor(/login:\s*$/m, BOOT_TIMEOUT_MS);
    const mark = s.text().length;
    s.type('root\r');
    await s.waitFor(/Password:\s*$/m, 120000, mark);
    s.type('\x1d');
    assert.is(await s.exited, 0, s.text().slice(-2000));
  } finally {
    s.kill();
  }
  assert.match(s.text(), /detached: QEMU stopped/);
  assert.equal(processesMentioning(BOOT_TMP), [], 'QEMU still running');
  const left = readdirSync(BOOT_TMP).filter((n) => n.startsWith('ib-native-'));
  assert.equal(left, [], 'the overlay and seed were not removed');
  assertCleanHost(assert, 'after boot --console');
});

test.run();
