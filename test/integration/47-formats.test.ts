/**
 * Issue 12 item 3: the outputs added as format plug-ins, built by the engine from the shared
 * cached rootfs in one build: `pxe` (netbooted over QEMU's own TFTP to login:), `raw` (sparse),
 * `vmdk` (stream-optimized) and `vhdx` (checked by qemu-img), `tar` (extracted:
 * owners, modes, setuid, a file capability and the family contexts survive). Each has its .sha256,
 * SBOM and manifest entry. The `qcow2` of this warm build (a delta on the cached base QCOW2) is
 * compared cluster by cluster with the raw output (`qemu-img compare`). The raw, VMDK and VHDX boots, and pxe with UEFI, are in the formats matrix
 * (`npm run test:distros formats`).
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, cli, DISTRO, ownScratch, writeProfile } from '../helpers/host.ts';

const DIR = ownScratch('formats');
const OUT = path.join(DIR, 'out');
const NAME = 'formats';
// the pxe root crosses QEMU's TFTP at about 1 MiB/s under TCG
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '1500';
const FORMATS = ['pxe', 'qcow2', 'raw', 'vmdk', 'vhdx', 'tar'] as const;
const out = (suffix: string) => path.join(OUT, `${NAME}.${suffix}`);

/** minimal's packages (so its cached rootfs) plus files only one family gets, and a capability for the tar. */
function profile(): string {
  const probe = `#!/bin/sh
set -e
cp /bin/true /usr/local/bin/ibn-probe
setcap cap_net_raw=ep /usr/local/bin/ibn-probe
`;
  return writeProfile(
    DIR,
    NAME,
    `distro: '${DISTRO}',
  // a smaller disk than minimal's 19 GiB: the raw output's checksum reads every byte of it
  disk: { size: '6G' },
  files: [
    { path: '/etc/ibn-tree-only', content: 'ibn-tree-51c\\n', contexts: ['tree'] },
    { path: '/etc/ibn-disk-only', content: 'ibn-disk-7c1\\n', contexts: ['qcow2'] },
    { path: '/var/lib/ibn-owned', content: 'x\\n', mode: '0640', owner: '_apt', group: 'nogroup' },
  ],
  userScripts: [{ name: 'probe', content: ${JSON.stringify(probe)}, contexts: ['tree'] }],`,
  );
}

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
});

let buildLog = '';

test('one build makes pxe, qcow2, raw, vmdk, vhdx and tar with checksums, SBOMs and a manifest', async () => {
  const r = await cli(['build', '--profile', profile(), '--format', FORMATS.join(','), '--output', OUT]);
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  buildLog = r.all;
  const suffixes = ['pxe', 'qcow2', 'img', 'vmdk', 'vhdx', 'tar.zst'];
  for (const s of suffixes) {
    assert.ok(existsSync(out(s)), `${NAME}.${s} missing`);
    assert.ok(existsSync(out(`${s}.spdx.json`)), `${NAME}.${s}.spdx.json missing`);
    const sum = await execa('sha256sum', ['--check', '--strict', `${NAME}.${s}.sha256`], {
      cwd: OUT,
      reject: false,
    });
    assert.is(sum.exitCode, 0, `${NAME}.${s}.sha256 does not verify: ${sum.stdout}${sum.stderr}`);
  }
  // the pxe folder's checksums name each of its files
  assert.equal(
    readFileSync(out('pxe.sha256'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('  ')[1])
      .sort(),
    ['boot.ipxe', 'filesystem.squashfs', 'initrd.img', 'vmlinuz'].map((f) => `${NAME}.pxe/${f}`),
  );
  const m = JSON.parse(readFileSync(out('manifest.json'), 'utf8'));
  assert.equal(
    m.outputs.map((o: { format: string }) => o.format),
    [...FORMATS],
  );
  for (const o of m.outputs) assert.ok(o.bytes > 0, `${o.format}: no size`);
  // one disk family for the three disk formats, one live and one tree
  for (const s of ['live', 'pxe', 'disk', 'qcow2', 'raw', 'vmdk', 'vhdx', 'tree', 'tar'])
    assert.type(m.stages[s], 'number', `stage ${s} not timed`);
  assertCleanHost(assert, 'after the formats build');
});

test('raw is sparse; vmdk is stream-optimized and vhdx sound (qemu-img check); all 6 GiB virtual', async () => {
  const info = async (f: string) =>
    JSON.parse((await execa('qemu-img', ['info', '--output=json', f])).stdout) as {
      format: string;
      'virtual-size': number;
      'format-specific'?: { data?: { 'create-type'?: string } };
    };
  const raw = statSync(out('img'));
  assert.is(raw.size, 6 * 1024 ** 3);
  assert.ok(
    raw.blocks * 512 < raw.size / 4,
    `the raw disk is not sparse: ${raw.blocks * 512} bytes allocated`,
  );
  const vmdk = await info(out('vmdk'));
  assert.is(vmdk.format, 'vmdk');
  assert.is(vmdk['format-specific']?.data?.['create-type'], 'streamOptimized');
  assert.is(vmdk['virtual-size'], 6 * 1024 ** 3);
  const vhdx = await info(out('vhdx'));
  assert.is(vhdx.format, 'vhdx');
  assert.is(vhdx['virtual-size'], 6 * 1024 ** 3);
  for (const [f, fmt] of [
    [out('vmdk'), 'vmdk'],
    [out('vhdx'), 'vhdx'],
  ] as const) {
    const c = await execa('qemu-img', ['check', '-f', fmt, f], { reject: false, all: true });
    assert.is(c.exitCode, 0, `qemu-img check ${f}: ${c.all}`);
  }
  // the VMDK's descriptor names the published file, not the name it was staged under
  const head = readFileSync(out('vmdk')).subarray(0, 4096).toString('latin1');
  assert.match(head, `"${NAME}.vmdk"`);
  // every disk format holds the same disk: the disk-only file is there, the tree-only file is not
  const cat = await cli(['inspect', out('vhdx'), '--cat', '/etc/ibn-disk-only']);
  assert.is(cat.exitCode, 0, cat.all);
  assert.match(cat.stdout, 'ibn-disk-7c1');
  const tree = await cli(['inspect', out('vhdx'), '--cat', '/etc/ibn-tree-only']);
  assert.not.match(tree.stdout, 'ibn-tree-51c', 'a tree-only file in the disk');
});

test('the QCOW2, the base QCOW2 with the changed clusters written in, holds the raw disk exactly', async () => {
  // the rootfs comes from the cache (10-minimal-build), so the raw disk is a copy of the base disk
  // and the QCOW2 a delta: not one cluster of it may differ from the raw output (the same raw disk)
  assert.match(buildLog, /qcow2: the cached base QCOW2 with the \d+ clusters that differ from the base disk/);
  const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', out('img'), out('qcow2')], {
    reject: false,
    all: true,
  });
  assert.is(cmp.exitCode, 0, `qemu-img compare: ${cmp.all}`);
  assert.match(cmp.stdout, 'Images are identical');
  const check = await execa('qemu-img', ['check', '-f', 'qcow2', out('qcow2')], { reject: false, all: true });
  assert.is(check.exitCode, 0, `qemu-img check: ${check.all}`);
  const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', out('qcow2')])).stdout);
  assert.is(info['virtual-size'], 6 * 1024 ** 3);
});

test('the tar extracts with owners, modes, setuid, a capability; family contexts hold', async () => {
  const x = path.join(DIR, 'extract');
  rmSync(x, { recursive: true, force: true });
  mkdirSync(x);
  const t = await execa(
    'tar',
    [
      '--zstd',
      '-xpf',
      out('tar.zst'),
      '--xattrs',
      '--xattrs-include=*',
      '--acls',
      '--numeric-owner',
      '-C',
      x,
    ],
    { reject: false, all: true },
  );
  assert.is(t.exitCode, 0, t.all);
  const st = (p: string) => lstatSync(path.join(x, p));
  const owned = st('var/lib/ibn-owned');
  assert.equal([owned.uid, owned.gid, owned.mode & 0o7777], [42, 65534, 0o640], 'owner by number and mode');
  const shadow = st('etc/shadow');
  assert.equal([shadow.uid, shadow.gid, shadow.mode & 0o7777], [0, 42, 0o640]);
  assert.is(st('usr/bin/su').mode & 0o7777, 0o4755, 'setuid kept');
  const cap = await execa('getcap', [path.join(x, 'usr/local/bin/ibn-probe')], { reject: false, all: true });
  assert.match(String(cap.all), /cap_net_raw[=+]ep/);
  assert.is(readFileSync(path.join(x, 'etc/ibn-tree-only'), 'utf8'), 'ibn-tree-51c\n');
  assert.not.ok(existsSync(path.join(x, 'etc/ibn-disk-only')), 'a disk-only file in the tar');
  assert.not.ok(existsSync(path.join(x, 'etc/machine-id')), 'machine-id shipped');
  assert.ok(existsSync(path.join(x, 'boot')), '/boot missing from the tar');
  rmSync(x, { recursive: true, force: true });
});

// CI boots the pxe folder (its own boot path); the disk formats boot in the formats matrix, through
// the same overlay path as the QCOW2 that 20-minimal-boot boots
for (const [image, firmware] of [['pxe', 'bios']] as const)
  test(`the ${image} boots to login: (${firmware}${image === 'pxe' ? ", over QEMU's TFTP" : ''})`, async () => {
    const log = path.join(DIR, `${image}-${firmware}.console`);
    const r = await cli([
      'boot',
      out(image),
      '--firmware',
      firmware,
      '--timeout',
      TIMEOUT,
      '--console-log',
      log,
    ]);
    assert.is(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
    assert.match(r.stdout, /login: reached in \d+(\.\d+)? s/);
    const text = readFileSync(log, 'utf8');
    if (image === 'pxe') {
      // iPXE took the boot script from QEMU's TFTP, then the initramfs fetched the whole root over it
      assert.match(text, /filename\s*:\s*boot\.ipxe/);
      assert.match(text, /\/?filesystem\.squashfs\s+100%/);
    }
    console.log(`  ${image} ${firmware}: ${/login: reached in [\d.]+ s/.exec(r.stdout)?.[0]}`);
  });

test.run();
