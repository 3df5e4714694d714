/**
 * The image readers on small images made here with the real tools (no root, a few seconds): a
 * layered live ISO (a base squashfs and a config layer with whiteouts, packed with xorriso, an ESP
 * appended as GPT partition 2) and a QCOW2 with a GPT, two ext4 filesystems and a FAT one, mounted
 * by the root filesystem's fstab; the boot chain of each (signed PE images from pe-fixtures.ts).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import { inspectImage } from '../../../src/inspect/image.ts';
import { silentLogger } from '../../../src/log.ts';
import { processRunner } from '../../../src/run/runner.ts';
import { type Keys, makeKeys, pe, sign } from './pe-fixtures.ts';

const DIR = mkdtempSync(path.join(tmpdir(), 'ib-native-images-'));
const TMP = path.join(DIR, 'tmp');
const runner = processRunner({ logger: silentLogger });
test.after(() => {
  rmSync(DIR, { recursive: true, force: true });
  keys?.remove();
});

const STATUS = `Package: linux-image-6.1.0-56-amd64
Status: install ok installed
Architecture: amd64
Source: linux-signed-amd64 (6.1.158+1)
Version: 6.1.158-1

Package: sudo
Status: install ok installed
Architecture: amd64
Version: 1.9.13p3-1+deb12u2

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1
`;
const LONG = `/usr/lib/${'a-rather-long-file-name-'.repeat(4)}target`;

/** Files and folders under `root` from a map (a trailing slash makes a folder, `-> x` a link). */
function tree(root: string, files: Record<string, string>): string {
  for (const [p, content] of Object.entries(files)) {
    const full = path.join(root, p);
    mkdirSync(p.endsWith('/') ? full : path.dirname(full), { recursive: true });
    if (p.endsWith('/')) continue;
    if (content.startsWith('-> ')) symlinkSync(content.slice(3), full);
    else writeFileSync(full, content);
  }
  return root;
}

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
let keys: Keys;
/** Signed by Test Leaf (issued by Test CA): the kernel of both images. */
let kernel: Buffer;
/** Signed by Test Signer: the ISO's BOOTX64.EFI. */
let shim: Buffer;

async function makeIso(): Promise<string> {
  const base = tree(path.join(DIR, 'base'), {
    'etc/hostname': 'base\n',
    'etc/issue.net': 'Debian\n',
    'etc/os-release': '-> ../usr/lib/os-release',
    'etc/ssh/ssh_host_rsa_key': 'secret\n',
    'etc/ssh/sshd_config': 'PermitRootLogin no\n',
    'usr/lib/os-release': 'ID=debian\n',
    'var/lib/dpkg/status': STATUS,
  });
  const upper = tree(path.join(DIR, 'upper'), { 'etc/hostname': 'node\n', 'etc/ssh/': '' });
  const root = tree(path.join(DIR, 'iso-root'), {
    'live/filesystem.module': 'filesystem.squashfs\nconfig-common.squashfs\n',
    'boot/grub/grub.cfg':
      "menuentry 'live' {\n  linux /boot/vmlinuz boot=live quiet console=ttyS0\n  initrd /boot/initrd.img\n}\n",
  });
  const sq = (from: string, name: string, ...more: string[]) =>
    execa('mksquashfs', [
      from,
      path.join(root, 'live', name),
      '-noappend',
      '-quiet',
      '-no-progress',
      ...more,
    ]);
  await sq(base, 'filesystem.squashfs');
  // whiteouts are 0/0 character devices: pseudo definitions make them without root
  await sq(
    upper,
    'config-common.squashfs',
    '-p',
    'etc/issue.net c 000 0 0 0 0',
    '-p',
    'etc/ssh/ssh_host_rsa_key c 000 0 0 0 0',
  );
  writeFileSync(path.join(root, 'boot/vmlinuz'), kernel);
  // the ESP, appended as GPT partition 2 as the ISO stage does
  const efi = path.join(DIR, 'efiboot.img');
  await execa('mkfs.vfat', ['-C', efi, '2048']);
  const env = { MTOOLS_SKIP_CHECK: '1' };
  await execa('mmd', ['-i', efi, '::/EFI', '::/EFI/BOOT'], { env });
  writeFileSync(path.join(DIR, 'shim.efi'), shim);
  writeFileSync(path.join(DIR, 'grub.efi'), pe());
  writeFileSync(path.join(DIR, 'esp-grub.cfg'), 'configfile /boot/grub/grub.cfg\n');
  for (const [from, to] of [
    ['shim.efi', 'BOOTX64.EFI'],
    ['grub.efi', 'grubx64.efi'],
    ['esp-grub.cfg', 'grub.cfg'],
  ])
    await execa('mcopy', ['-i', efi, path.join(DIR, from!), `::/EFI/BOOT/${to}`], { env });
  const iso = path.join(DIR, 'live.iso');
  await execa('xorriso', [
    ...['-as', 'mkisofs', '-quiet', '-R', '-V', 'config-2', '-o', iso],
    ...['-append_partition', '2', '0xef', efi, '-appended_part_as_gpt', root],
  ]);
  return iso;
}

const ROOT_UUID = '0b9a3b2c-6c1e-4f57-9d59-3c8a1e2f4d11';
const BOOT_UUID = '5f0e6a3d-1c2b-4a8e-8f3d-2b6c9e0a7d22';
const MiB = 1024 * 1024;

async function makeQcow2(): Promise<string> {
  const raw = path.join(DIR, 'disk.raw');
  writeFileSync(raw, '');
  await execa('truncate', ['-s', '96M', raw]);
  await execa('sgdisk', [
    ...['-n', '1:1M:+40M', '-c', '1:root', '-t', '1:8300'],
    ...['-n', '2:41M:+16M', '-c', '2:efi', '-t', '2:EF00'],
    ...['-n', '3:57M:+32M', '-c', '3:boot', '-t', '3:8300'],
    raw,
  ]);
  const rootDir = tree(path.join(DIR, 'root'), {
    'etc/fstab': `UUID=${ROOT_UUID} / ext4 defaults 0 1\nUUID=${BOOT_UUID} /boot ext4 defaults 0 2\nUUID=1234-ABCD /boot/efi vfat umask=0077 0 1\n`,
    'etc/os-release': '-> ../usr/lib/os-release',
    'etc/long': `-> ${LONG}`,
    [LONG.slice(1)]: 'at the end of a slow link\n',
    'usr/lib/os-release': 'ID=debian\n',
    'usr/bin/su': '#!/bin/sh\n',
    'var/lib/dpkg/status': STATUS,
    'boot/': '',
  });
  chmodSync(path.join(rootDir, 'usr/bin/su'), 0o4755);
  const bootDir = tree(path.join(DIR, 'bootfs'), {
    'grub/grub.cfg': `menuentry 'disk' {\n  linux /vmlinuz-6.1 root=UUID=${ROOT_UUID} ro console=ttyS0,115200n8\n}\n`,
    'efi/': '',
  });
  writeFileSync(path.join(bootDir, 'vmlinuz-6.1'), kernel);
  symlinkSync('vmlinuz-6.1', path.join(bootDir, 'vmlinuz'));
  const ext4 = (dir: string, uuid: string, offsetMiB: number, sizeMiB: number) =>
    execa('mkfs.ext4', [
      '-q',
      '-F',
      '-U',
      uuid,
      '-E',
      `offset=${offsetMiB * MiB}`,
      '-d',
      dir,
      raw,
      `${sizeMiB}M`,
    ]);
  await ext4(rootDir, ROOT_UUID, 1, 40);
  await ext4(bootDir, BOOT_UUID, 57, 32);
  await execa('mkfs.vfat', [
    '-i',
    '1234ABCD',
    '-n',
    'EFI',
    `--offset=${(41 * MiB) / 512}`,
    raw,
    String(16 * 1024),
  ]);
  const efi = path.join(DIR, 'BOOTX64.EFI');
  writeFileSync(efi, Buffer.from([0x4d, 0x5a, 0x00, 0xff, 0x80]));
  const env = { MTOOLS_SKIP_CHECK: '1' };
  await execa('mmd', ['-i', `${raw}@@${41 * MiB}`, '::/EFI', '::/EFI/BOOT'], { env });
  await execa('mcopy', ['-i', `${raw}@@${41 * MiB}`, efi, '::/EFI/BOOT/BOOTX64.EFI'], { env });
  const qcow2 = path.join(DIR, 'disk.qcow2');
  await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  rmSync(raw);
  writeFileSync(
    path.join(DIR, 'disk.manifest.json'),
    JSON.stringify({
      profile: { name: 'disk' },
      distro: { name: 'debian-bookworm' },
      outputs: [{ file: 'disk.qcow2', sha256: sha256(qcow2) }],
    }),
  );
  return qcow2;
}

let iso = '';
let qcow2 = '';
test.before(async () => {
  mkdirSync(TMP);
  keys = makeKeys();
  kernel = pe([sign(keys, 'leaf')]);
  shim = pe([sign(keys, 'self')]);
  iso = await makeIso();
  qcow2 = await makeQcow2();
});

test('ISO: layers stacked (a later layer wins, whiteouts delete), packages, boot command line', async () => {
  const r = await inspectImage(runner, iso, {
    cat: ['/etc/hostname', '/etc/os-release'],
    ls: ['/etc/ssh'],
    tmpDir: TMP,
  });
  assert.is(r.image.format, 'iso');
  assert.is(r.manifest, undefined);
  assert.equal(
    r.layers?.map((l) => [l.name, l.whiteouts]),
    [
      ['filesystem.squashfs', 0],
      ['config-common.squashfs', 2],
    ],
  );
  assert.equal(
    r.files.map((f) => [f.path, f.resolved, f.content.toString()]),
    [
      ['/etc/hostname', '/etc/hostname', 'node\n'],
      ['/etc/os-release', '/usr/lib/os-release', 'ID=debian\n'],
    ],
  );
  assert.equal(
    r.listings[0]?.entries.map((e) => e.name),
    ['sshd_config'],
  );
  assert.equal(
    r.packages.map((p) => p.name),
    ['linux-image-6.1.0-56-amd64', 'sudo'],
  );
  assert.equal(r.boot.entries, [
    {
      title: 'live',
      kernel: '/boot/vmlinuz',
      initrd: '/boot/initrd.img',
      cmdline: ['boot=live', 'quiet', 'console=ttyS0'],
    },
  ]);
  // the ESP of the appended partition, then the kernel of the ISO 9660 tree
  assert.equal(
    r.bootChain.map((e) => [e.path, e.kind, e.bytes, e.signatures, e.error ?? e.notPe]),
    [
      [
        'EFI/BOOT/BOOTX64.EFI',
        'pe',
        shim.length,
        [{ subject: 'Test Signer', issuer: 'Test Signer' }],
        undefined,
      ],
      ['EFI/BOOT/grub.cfg', 'config', 31, [], undefined],
      ['EFI/BOOT/grubx64.efi', 'pe', pe().length, [], undefined],
      ['/boot/vmlinuz', 'pe', kernel.length, [{ subject: 'Test Leaf', issuer: 'Test CA' }], undefined],
    ],
  );
  assert.is(r.bootChain[0]!.sha256, createHash('sha256').update(shim).digest('hex'));
  try {
    await inspectImage(runner, iso, { cat: ['/etc/issue.net'], tmpDir: TMP });
    assert.unreachable('a deleted file was read');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match(
      (e as Error).message,
      '/etc/issue.net is not in the image: /etc/issue.net does not exist (deleted in config-common.squashfs)',
    );
  }
});

test('QCOW2: partitions with their filesystems at the fstab mountpoints; files across mounts and links', async () => {
  const r = await inspectImage(runner, qcow2, {
    cat: ['/boot/grub/grub.cfg', '/boot/efi/EFI/BOOT/BOOTX64.EFI', '/etc/long', '/etc/os-release'],
    ls: ['/usr/bin', '/boot/efi/EFI/BOOT'],
    tmpDir: TMP,
  });
  assert.is(r.image.format, 'qcow2');
  assert.is(r.image.virtualBytes, 96 * MiB);
  assert.equal(
    [r.manifest?.profile, r.manifest?.distro, r.manifest?.matches],
    ['disk', 'debian-bookworm', true],
  );
  assert.equal(
    r.disk?.partitions.map((p) => [
      p.number,
      p.name,
      p.code,
      p.firstSector,
      p.filesystem,
      p.uuid,
      p.mountpoint,
    ]),
    [
      [1, 'root', '8300', 2048, 'ext4', ROOT_UUID, '/'],
      [2, 'efi', 'EF00', 41 * 2048, 'vfat', '1234-ABCD', '/boot/efi'],
      [3, 'boot', '8300', 57 * 2048, 'ext4', BOOT_UUID, '/boot'],
    ],
  );
  assert.equal(r.boot.entries[0]?.cmdline, [`root=UUID=${ROOT_UUID}`, 'ro', 'console=ttyS0,115200n8']);
  const files = new Map(r.files.map((f) => [f.path, f]));
  assert.match(files.get('/boot/grub/grub.cfg')!.content.toString(), /menuentry 'disk'/);
  assert.equal([...files.get('/boot/efi/EFI/BOOT/BOOTX64.EFI')!.content], [0x4d, 0x5a, 0x00, 0xff, 0x80]);
  assert.is(files.get('/etc/long')!.resolved, LONG);
  assert.is(files.get('/etc/long')!.content.toString(), 'at the end of a slow link\n');
  assert.is(files.get('/etc/os-release')!.resolved, '/usr/lib/os-release');
  const su = r.listings[0]!.entries.find((e) => e.name === 'su')!;
  assert.equal([su.type, su.mode.toString(8)], ['f', '4755']);
  assert.equal(
    r.listings[1]!.entries.map((e) => [e.name, e.size]),
    [['BOOTX64.EFI', 5]],
  );
  assert.equal(
    r.packages.map((p) => p.name),
    ['linux-image-6.1.0-56-amd64', 'sudo'],
  );
  // the ESP's BOOTX64.EFI (5 bytes) and the kernel of /boot (a link to it is not listed twice)
  assert.equal(
    r.bootChain.map((e) => [e.path, e.signatures, e.notPe]),
    [
      ['EFI/BOOT/BOOTX64.EFI', [], 'not a PE image (shorter than a DOS header)'],
      ['/boot/vmlinuz-6.1', [{ subject: 'Test Leaf', issuer: 'Test CA' }], undefined],
    ],
  );
  // without the boot chain, nothing of it is read
  const bare = await inspectImage(runner, qcow2, { bootChain: false, verify: false, tmpDir: TMP });
  assert.equal(bare.bootChain, []);
  // the raw scratch copy is gone
  assert.equal(readdirSync(TMP), []);
});

test('a folder given to --cat, a file given to --ls and a missing folder on the way are UserErrors', async () => {
  for (const [o, re] of [
    [{ cat: ['/etc'] }, /\/etc is a folder/],
    [{ ls: ['/etc/fstab'] }, /\/etc\/fstab is not a folder/],
    [{ cat: ['/etc/fstab/x'] }, /\/etc\/fstab is not a folder/],
    [{ cat: ['/no/such/file'] }, /\/no does not exist/],
  ] as const) {
    try {
      await inspectImage(runner, qcow2, { ...o, tmpDir: TMP });
      assert.unreachable(JSON.stringify(o));
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, re);
    }
  }
  assert.equal(readdirSync(TMP), []);
});

test.run();
