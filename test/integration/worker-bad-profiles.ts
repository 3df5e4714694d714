/**
 * Issue 3, negative cases: profiles that extend the worker test profile (same packages and repos,
 * so the worker rootfs cached by 40-worker-focal is reused; run by 45-bad-profiles) but carry a DKMS module that does not
 * compile, or an AppArmor profile that does not parse. Each build fails with the tool's own
 * message (make.log's tail, apparmor_parser's error), leaves the output folder as it was and the
 * host clean.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, cli, DISTRO, snapshot } from '../helpers/host.ts';
import { FIXTURES, setUpWorkerFixture, type WorkerFixture } from '../helpers/worker.ts';

let fx: WorkerFixture | undefined;
let out = '';

test.before(async () => {
  fx = await setUpWorkerFixture('worker-bad');
  out = path.join(fx.dir, 'out');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // previous good images that a failed build must neither replace nor remove
  for (const name of ['ibn-bad-dkms', 'ibn-bad-apparmor', 'ibn-bad-fingerprint'])
    writeFileSync(path.join(out, `${name}.qcow2`), 'previous good image\n');
});

test.after(async () => {
  await fx?.close();
  // the last focal file of the suite: under CI its worker entries (about 6 GB) make room for the
  // files after it, through the tool's own prune (entries only these profiles used)
  if (process.env.CI) {
    const r = await cli([
      'cache',
      'prune',
      '--profile',
      'ibn-worker,ibn-ephemeral,ibn-bad-dkms,ibn-bad-apparmor,ibn-bad-fingerprint',
    ]);
    process.stdout.write(`after the focal files: ${r.stdout.trim()}\n`);
  }
});

/** A profile extending the worker test profile by path, written beside it. */
function badProfile(name: string, body: string): string {
  const file = path.join(path.dirname(fx!.profile), `${name}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({\n  name: '${name}',\n  extends: ${JSON.stringify(fx!.profile)},\n${body}\n});\n`,
  );
  return file;
}

async function failingBuild(profile: string) {
  const before = snapshot(out);
  const t0 = Date.now();
  const r = await cli([
    'build',
    // the worker keeps debootstrap (no longer the default) built, booted and checked end to end
    '--bootstrapper',
    'debootstrap',
    '--profile',
    profile,
    '--distro',
    DISTRO,
    '--format',
    'qcow2',
    '--output',
    out,
  ]);
  const seconds = ((Date.now() - t0) / 1000).toFixed(0);
  process.stdout.write(
    `\n  ${path.basename(profile)}: failed as expected in ${seconds} s (rootfs ${/rootfs: reused from cache/.test(r.all) ? 'from cache' : 'built'})\n`,
  );
  assert.equal(snapshot(out), before, 'the output folder changed');
  assertCleanHost(assert, `after ${path.basename(profile)}`);
  return r;
}

test("the shipped worker asks for pkgs.k8s.io's key by URL, pinned; unreachable here, a clear error", async () => {
  const r = await cli(['plan', '--profile', 'worker', '--distro', DISTRO]);
  assert.is(r.exitCode, 2, r.all.slice(-2000));
  assert.match(
    r.stderr,
    /repo "kubernetes".*could not download https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/deb\/Release\.key/,
  );
  assert.not.match(r.stderr, /docker/i, 'the worker still needs a Docker repo');
});

test('a wrong fingerprint for the mirror key is refused before any bootstrapping', async () => {
  const p = badProfile(
    'ibn-bad-fingerprint',
    `  kubernetes: { key: { url: ${JSON.stringify(`${fx!.repo.url}core:/stable:/v1.31/deb/Release.key`)}, fingerprint: '${'0'.repeat(40)}' } },`,
  );
  const r = await failingBuild(p);
  assert.is(r.exitCode, 2, `exit code ${r.exitCode}:\n${r.all.slice(-3000)}`);
  assert.match(r.stderr, /repo "kubernetes"/, r.stderr);
  assert.match(r.stderr, /refused/, r.stderr);
});

test('a DKMS module that does not compile fails the build with the tail of make.log', async () => {
  const p = badProfile(
    'ibn-bad-dkms',
    `  remove: { dkms: ['ibn_hello'] },\n  dkms: [{ name: 'ibn_broken', version: '1.0', source: ${JSON.stringify(path.join(FIXTURES, 'dkms/ibn_broken'))} }],`,
  );
  const r = await failingBuild(p);
  assert.is(r.exitCode, 3, `exit code ${r.exitCode}:\n${r.all.slice(-3000)}`);
  assert.match(r.stderr, /build DKMS module ibn_broken 1\.0/, `the failing step is not named:\n${r.stderr}`);
  assert.match(r.stderr, /ibn_broken 1\.0 failed to build/, `no DKMS failure message:\n${r.stderr}`);
  // the compiler's own words, from make.log
  assert.match(
    r.stderr,
    /error: #error IBN_BROKEN_MODULE_DOES_NOT_COMPILE/,
    `make.log tail missing:\n${r.stderr}`,
  );
  assert.match(r.stderr, /full log: /);
});

test('an AppArmor profile that does not parse fails the build with the parser message', async () => {
  const p = badProfile(
    'ibn-bad-apparmor',
    // the rule lacks its trailing comma
    `  apparmor: { profiles: [{ name: 'ibn-bad', content: 'profile ibn-bad /usr/local/bin/ibn-bad {\\n  /etc/ibn/** r\\n}\\n' }] },`,
  );
  const r = await failingBuild(p);
  assert.is(r.exitCode, 3, `exit code ${r.exitCode}:\n${r.all.slice(-3000)}`);
  assert.match(
    r.stderr,
    /check AppArmor profile ibn-bad parses/,
    `the failing step is not named:\n${r.stderr}`,
  );
  assert.match(
    r.stderr,
    /AppArmor parser error for \/etc\/apparmor\.d\/ibn-bad/,
    `no parser message:\n${r.stderr}`,
  );
  assert.match(r.stderr, /syntax error/);
});

test.run();
