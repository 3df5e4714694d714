/**
 * Issue 2, end to end: `build --profile minimal --distro debian-bookworm --format iso,qcow2`
 * with a config-drive user-data. Checks outputs, checksums, manifest and a clean host.
 * The images are booted by 20-minimal-boot.test.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firstBootUserData } from '../helpers/first-boot.ts';
import { assertCleanHost, CACHE, cli, DISTRO, SCRATCH } from '../helpers/host.ts';
import { catText, withDisk } from '../helpers/image.ts';

export const OUT = path.join(SCRATCH, 'minimal-out');
export const MARKER = 'IBN-CONFIG-DRIVE-7f3a';

test('minimal builds an ISO and a QCOW2 with checksums and a manifest', async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const userData = path.join(SCRATCH, 'user_data');
  // the marker, then the first-boot status (20-minimal-boot judges both on the console)
  writeFileSync(userData, firstBootUserData([`  - [ sh, -c, "echo ${MARKER} > /dev/ttyS0" ]`]));
  const r = await cli([
    'build',
    '--profile',
    'minimal',
    '--distro',
    DISTRO,
    '--format',
    'iso,qcow2',
    '--output',
    OUT,
    '--user-data',
    userData,
  ]);
  assert.equal(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  for (const f of ['minimal.iso', 'minimal.qcow2', 'minimal.manifest.json']) {
    assert.ok(existsSync(path.join(OUT, f)), `${f} missing`);
    const sum = await execa('sha256sum', ['--check', `${f}.sha256`], { cwd: OUT, reject: false });
    assert.equal(sum.exitCode, 0, `${f}.sha256 does not verify: ${sum.stdout}${sum.stderr}`);
  }
  const iso = await execa('xorriso', ['-indev', path.join(OUT, 'minimal.iso'), '-pvd_info'], {
    reject: false,
    all: true,
  });
  assert.match(String(iso.all), /Volume Id\s*:\s*config-2/);
  const ls = await execa('xorriso', ['-indev', path.join(OUT, 'minimal.iso'), '-find', '/', '-type', 'f'], {
    reject: false,
    all: true,
  });
  for (const f of [
    '/live/filesystem.squashfs',
    '/boot/vmlinuz',
    '/boot/initrd.img',
    '/openstack/latest/meta_data.json',
    '/openstack/latest/user_data',
  ])
    assert.ok(String(ls.all).includes(`'${f}'`), `${f} not in the ISO:\n${ls.all}`);
  const info = await execa('qemu-img', ['info', '--output=json', path.join(OUT, 'minimal.qcow2')]);
  const q = JSON.parse(info.stdout);
  assert.is(q.format, 'qcow2');
  assert.is(q['virtual-size'], 19 * 1024 ** 3);
  const m = JSON.parse(readFileSync(path.join(OUT, 'minimal.manifest.json'), 'utf8'));
  assert.is(m.profile.name, 'minimal');
  assert.is(m.profile.distro, DISTRO);
  assert.ok(
    m.packages.some((p: { name: string }) => p.name === 'cloud-init'),
    'cloud-init not in the package list',
  );
  assert.ok(
    m.packages.every((p: { version: string }) => p.version),
    'a package without version',
  );
  assert.ok(
    !m.packages.some((p: { name: string }) => p.name === 'unattended-upgrades'),
    'blocked package installed',
  );
  for (const s of ['rootfs', 'configure', 'live', 'iso', 'disk', 'qcow2'])
    assert.type(m.stages[s], 'number', `stage ${s} not timed`);
  assert.match(m.hostTools.mksquashfs, /mksquashfs/);
  assertCleanHost(assert, 'after build');
  assert.equal(
    existsSync(path.join(CACHE, 'work')) ? readdirSync(path.join(CACHE, 'work')) : [],
    [],
    'work folder not cleaned',
  );
});

test('the build ran the plan: its stages in order, and every planned command as planned', async () => {
  const r = await cli([
    'plan',
    '--profile',
    'minimal',
    '--distro',
    DISTRO,
    '--format',
    'iso,qcow2',
    '--json',
  ]);
  assert.is(r.exitCode, 0, r.all);
  const stages = JSON.parse(r.stdout).stages as {
    stage: string;
    family?: string;
    commands?: string[][];
    unless?: string;
  }[];
  const log = readFileSync(path.join(OUT, 'minimal.build.log'), 'utf8');
  // the stages as the build started them (a family's stage runs in two parts: counted once)
  const started = [...new Set([...log.matchAll(/ stage (\S+): start$/gm)].map((m) => m[1]!))];
  assert.equal(
    [...started].sort(),
    ['plan', ...stages.map((s) => s.stage)].sort(),
    'the build ran other stages than plan prints',
  );
  // in order: plan, rootfs, configure, then the families at the same time, each in its planned order
  const shared = stages.filter((s) => !s.family).map((s) => s.stage);
  assert.equal(started.slice(0, shared.length + 1), ['plan', ...shared], 'shared stages out of order');
  for (const family of new Set(stages.flatMap((s) => (s.family ? [s.family] : [])))) {
    const planned = stages.filter((s) => s.family === family).map((s) => s.stage);
    assert.equal(
      started.filter((s) => planned.includes(s)),
      planned,
      `the ${family} family's stages ran out of order`,
    );
  }
  const run = log.split('\n').filter((l) => l.includes(' $ '));
  let checked = 0;
  for (const s of stages) {
    // made another way, as the plan allows (a compressed QCOW2 on a cached base disk: its delta)
    if (s.unless && log.includes(`${s.stage}: planned commands skipped: ${s.unless}\n`)) {
      checked++;
      continue;
    }
    for (const c of s.commands ?? []) {
      // a placeholder ({out}, {work}, {raw}, {tree}) is a path only the build knows: any non-blank text
      const re = new RegExp(
        `\\$ ${c.map((a) => a.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(out|work|raw|tree)\\?\}/g, '\\S+')).join(' ')}(\\s|$)`,
      );
      assert.ok(
        run.some((l) => re.test(l)),
        `${s.stage}: planned command not run as planned: ${c.join(' ')}`,
      );
      checked++;
    }
  }
  // the ISO's xorriso, and the QCOW2's convert or the delta its plan allows
  assert.ok(checked >= 2, 'no planned command to check');
});

test('the QCOW2 carries fstab by UUID and no loop/nbd device names', async () => {
  await withDisk(path.join(OUT, 'minimal.qcow2'), SCRATCH, async (disk) => {
    const byCode = (code: string) => disk.partitions.filter((p) => p.code === code);
    assert.equal(
      [disk.partitions[0]?.number, disk.partitions[0]?.name, disk.partitions[0]?.mountpoint],
      [1, 'root', '/'],
      'root is not partition 1',
    );
    assert.is(byCode('EF02').length, 1);
    assert.is(byCode('EF00').length, 1);
    const fstab = await catText(disk.fs, '/etc/fstab');
    assert.match(fstab, /^UUID=\S+ \/ ext4 defaults,errors=remount-ro,noatime 0 1$/m);
    assert.match(fstab, /^UUID=\S+ \/boot ext4 .* 0 2$/m);
    assert.match(fstab, /^UUID=[0-9A-F]{4}-[0-9A-F]{4} \/boot\/efi vfat /m);
    // /boot is its own partition: the grub.cfg read here is the one on it
    const grub = await catText(disk.fs, '/boot/grub/grub.cfg');
    assert.match(grub, /root=UUID=[0-9a-f-]{36}/);
    assert.match(grub, /console=ttyS0/);
    assert.not.match(`${fstab}\n${grub}`, /\/dev\/(loop|nbd)/);
  });
});

test.run();
