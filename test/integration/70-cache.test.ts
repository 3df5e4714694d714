/**
 * Issue 4: config-only rebuilds reuse the cached rootfs, live squashfs and base disk; the
 * layered ISO and a bundle of two QCOW2 profiles boot and carry the change; two builds at
 * once sharing cache entries both succeed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, cli, DISTRO, ownScratch } from '../helpers/host.ts';
import { minimalVariant } from '../helpers/profiles.ts';

const DIR = ownScratch('cache');
const OUT = path.join(DIR, 'out');
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '600';

function profile(name: string, pidMax: number): string {
  return minimalVariant(DIR, name, pidMax, { path: '/etc/ib-native-profile', content: `${name}\n` });
}

/** Prints what the test checks on the serial console, then a done line. */
function checks(tag: string): string {
  return `#cloud-config
runcmd:
  - [ sh, -c, 'echo "${tag} pid_max=$(cat /proc/sys/kernel/pid_max) profile=$(cat /etc/ib-native-profile) lists=$(find /var/lib/apt/lists -type f | wc -l) done" > /dev/ttyS0' ]
`;
}

function manifest(name: string) {
  return JSON.parse(readFileSync(path.join(OUT, `${name}.manifest.json`), 'utf8'));
}

async function boot(image: string, firmware: string, tag: string, seed?: string): Promise<string> {
  const log = path.join(DIR, `${path.basename(image)}.console`);
  const r = await cli([
    'boot',
    image,
    '--firmware',
    firmware,
    '--timeout',
    TIMEOUT,
    '--console-log',
    log,
    '--expect',
    `${tag} pid_max`,
    ...(seed ? ['--seed', seed] : []),
  ]);
  assert.is(r.exitCode, 0, `boot of ${image} failed:\n${r.all.slice(-2500)}`);
  return readFileSync(log, 'utf8');
}

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
});

test('a first build warms the squashfs, base-disk and base-QCOW2 entries', async () => {
  const r = await cli([
    'build',
    '--profile',
    profile('cache-a', 111111),
    '--distro',
    DISTRO,
    '--output',
    OUT,
  ]);
  assert.is(r.exitCode, 0, r.all.slice(-3000));
  assert.is(manifest('cache-a').cacheHits.rootfs, true, 'rootfs should come from the minimal tests');
});

test('a config-only change rebuilds only configure and packing, and the live ISO carries it (deletions too)', async () => {
  const p = profile('cache-a', 222222);
  const userData = path.join(DIR, 'user_data');
  writeFileSync(userData, checks('IBN-ISO'));
  const r = await cli([
    'build',
    '--profile',
    p,
    '--distro',
    DISTRO,
    '--format',
    'iso',
    '--output',
    OUT,
    '--user-data',
    userData,
  ]);
  assert.is(r.exitCode, 0, r.all.slice(-3000));
  const m = manifest('cache-a');
  assert.equal(m.cacheHits, { rootfs: true, squashfs: true }, 'rootfs and base squashfs must be reused');
  const console = await boot(path.join(OUT, 'cache-a.iso'), 'bios', 'IBN-ISO');
  // the live system sees exactly the configured tree: the new value, the file, and the apt lists deleted
  assert.match(console, /IBN-ISO pid_max=222222 profile=cache-a lists=0 done/);
});

test('a bundle of two profiles shares the rootfs, base disk and base QCOW2; both QCOW2s (deltas) boot with their own config', async () => {
  const r = await cli([
    'build',
    '--profile',
    profile('cache-a', 333333),
    '--profile',
    profile('cache-b', 444444),
    '--distro',
    DISTRO,
    '--format',
    'qcow2',
    '--output',
    OUT,
  ]);
  assert.is(r.exitCode, 0, r.all.slice(-3000));
  // each QCOW2 is the cached base QCOW2 with its changed clusters written in, not a whole convert
  assert.is(
    r.all.match(/\[cache-[ab]\] qcow2: the cached base QCOW2 with the \d+ clusters that differ/g)?.length,
    2,
    r.all.slice(-3000),
  );
  for (const [name, value] of [
    ['cache-a', 333333],
    ['cache-b', 444444],
  ] as const) {
    assert.equal(
      manifest(name).cacheHits,
      { rootfs: true, disk: true, qcow2: true },
      `${name}: rootfs, base disk and base QCOW2 must be reused`,
    );
    const seed = path.join(DIR, `seed-${name}`);
    mkdirSync(seed, { recursive: true });
    writeFileSync(path.join(seed, 'user-data'), checks('IBN-QCOW'));
    writeFileSync(path.join(seed, 'meta-data'), `instance-id: ${name}-${Date.now()}\n`);
    const console = await boot(path.join(OUT, `${name}.qcow2`), 'bios', 'IBN-QCOW', seed);
    assert.match(console, new RegExp(`IBN-QCOW pid_max=${value} profile=${name} lists=0 done`));
  }
  assertCleanHost(assert, 'after the bundle');
});

test('two builds at once sharing cache entries both succeed', async () => {
  const [a, b] = await Promise.all([
    cli([
      'build',
      '--profile',
      profile('cache-a', 555555),
      '--distro',
      DISTRO,
      '--format',
      'iso',
      '--output',
      OUT,
    ]),
    cli([
      'build',
      '--profile',
      profile('cache-b', 666666),
      '--distro',
      DISTRO,
      '--format',
      'iso',
      '--output',
      OUT,
    ]),
  ]);
  assert.is(a.exitCode, 0, a.all.slice(-2000));
  assert.is(b.exitCode, 0, b.all.slice(-2000));
  assert.is(manifest('cache-a').profile.sysctl['kernel.pid_max'], '555555');
  assert.is(manifest('cache-b').profile.sysctl['kernel.pid_max'], '666666');
  assertCleanHost(assert, 'after concurrent builds');
});

test.run();
