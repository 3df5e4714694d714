/**
 * Issue 14, the other side of 20-minimal-boot's Secure Boot boots: an image with an unsigned EFI
 * loader must fail a boot with Secure Boot enforced, so that check can fail. `minimal` with
 * `secureBoot: false` (the same packages, so the same cached rootfs as 10-minimal-build) gets
 * ib-native's own unsigned GRUB: `inspect` says so, plain UEFI boots it to a clean first boot with
 * Secure Boot disabled, and under `boot --secure-boot` OVMF refuses it at once (exit 4, its
 * `Access Denied` line), long before the timeout. And a profile asking for Secure Boot with an
 * unsigned kernel is refused at plan time (exit 2, naming the field).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getDistro } from '../../src/distro/index.ts';
import {
  assertCleanFirstBoot,
  FIRST_BOOT_DONE,
  firstBootUserData,
  secureBootSeen,
} from '../helpers/first-boot.ts';
import { assertCleanHost, buildArgs, cli, DISTRO, ownScratch, writeProfile } from '../helpers/host.ts';

const DIR = ownScratch('secure-boot');
const OUT = path.join(DIR, 'out');
const NAME = 'unsigned';
const IMAGE = path.join(OUT, `${NAME}.qcow2`);
const TIMEOUT_S = Number(process.env.IB_NATIVE_BOOT_TIMEOUT ?? '600');

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
});

test('secureBoot: false with the chain packages kept: the same rootfs, the ESP holds the own unsigned GRUB', async () => {
  const chain = getDistro(DISTRO)
    .signedChain!.packages.map((p) => `'${p}'`)
    .join(', ');
  const profile = writeProfile(DIR, NAME, `secureBoot: false, packages: [${chain}]`);
  const r = await cli(buildArgs(profile, 'qcow2', OUT));
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  // the plan says so, and its rootfs is minimal's (same packages): no second bootstrap in the suite
  const planOf = async (p: string) => {
    const out = await cli(['plan', '--profile', p, '--distro', DISTRO, '--json']);
    assert.is(out.exitCode, 0, out.all);
    return JSON.parse(out.stdout) as { stages: { stage: string; key?: string; describe: string }[] };
  };
  const [own, signed] = [await planOf(profile), await planOf('minimal')];
  assert.match(own.stages.find((st) => st.stage === 'disk')!.describe, /UEFI by own unsigned GRUB/);
  assert.match(
    signed.stages.find((st) => st.stage === 'disk')!.describe,
    /UEFI by shim \+ debian's signed GRUB/,
  );
  assert.is(own.stages[0]!.key, signed.stages[0]!.key, 'secureBoot: false changed the rootfs');
  const j = await cli(['inspect', IMAGE, '--json']);
  assert.is(j.exitCode, 0, j.all);
  const chainSeen = JSON.parse(j.stdout).bootChain as { path: string; signatures: unknown[] }[];
  const efi = chainSeen.filter((e) => e.path.startsWith('EFI/'));
  assert.equal(
    efi.map((e) => [e.path, e.signatures.length]),
    [['EFI/BOOT/BOOTX64.EFI', 0]],
    'the ESP should hold only the unsigned standalone GRUB',
  );
  assertCleanHost(assert, 'after building the unsigned image');
});

test('plain UEFI boots it to a clean first boot, Secure Boot disabled', async () => {
  const seed = path.join(DIR, 'seed');
  mkdirSync(seed, { recursive: true });
  writeFileSync(path.join(seed, 'user-data'), firstBootUserData());
  const log = path.join(DIR, 'uefi.console');
  const r = await cli([
    'boot',
    IMAGE,
    '--firmware',
    'uefi',
    '--timeout',
    String(TIMEOUT_S),
    '--console-log',
    log,
    '--expect',
    FIRST_BOOT_DONE,
    '--seed',
    seed,
  ]);
  assert.is(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
  const text = readFileSync(log, 'utf8');
  assertCleanFirstBoot(text, 'unsigned qcow2 (uefi)');
  assert.is(secureBootSeen(text)?.state, 'disabled');
});

test('boot --secure-boot: OVMF refuses the unsigned loader at once with Access Denied, exit 4', async () => {
  const log = path.join(DIR, 'secure.console');
  const started = Date.now();
  const r = await cli(['boot', IMAGE, '--secure-boot', '--timeout', String(TIMEOUT_S), '--console-log', log]);
  const seconds = (Date.now() - started) / 1000;
  assert.is(r.exitCode, 4, r.all.slice(-3000));
  assert.match(
    r.stderr,
    /error: the firmware refused the boot loader: Secure Boot rejected an unsigned EFI binary/,
  );
  assert.match(r.stderr, /\nconsole: BdsDxe: failed to load Boot[0-9A-F]+ "[^"]*" from \S+: Access Denied\n/);
  assert.match(r.stderr, /hint: .*signed/);
  assert.ok(
    seconds < TIMEOUT_S / 2,
    `failed after ${seconds.toFixed(0)} s: the watcher waited for the timeout`,
  );
  const console = readFileSync(log, 'utf8');
  assert.not.match(console, /login:/, 'the unsigned image booted under Secure Boot');
});

test('secureBoot: true with an unsigned kernel is refused at plan time, naming the field', async () => {
  const profile = writeProfile(
    DIR,
    'unsigned-kernel',
    "secureBoot: true, kernel: { packages: ['linux-image-6.1.0-50-amd64-unsigned'] }",
  );
  // the kernel's name is Debian's
  const r = await cli(['plan', '--profile', profile, '--distro', 'debian-bookworm']);
  assert.is(r.exitCode, 2, r.all);
  assert.match(r.stderr, /kernel\.packages.*linux-image-6\.1\.0-50-amd64-unsigned is an unsigned kernel/);
  assert.match(r.stderr, /secureBoot: false/);
});

test.run();
