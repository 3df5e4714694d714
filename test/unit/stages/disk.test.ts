import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeLayout, fstabUuid, type Layout } from '../../../src/disk/layout.ts';
import { UserError } from '../../../src/errors.ts';
import type { Partition } from '../../../src/profile/schema.ts';
import {
  type DiskInputs,
  describeQcow2Compression,
  diskGrubCfg,
  QEMU_IMG_COROUTINES,
  qcow2Compression,
  qemuImgConvertArgv,
  qemuImgWritesZstd,
  rsyncArgv,
} from '../../../src/stages/disk.ts';

test('qemuImgConvertArgv: compressed with zstd or zlib, or not compressed', () => {
  assert.equal(qemuImgConvertArgv('/w/disk.raw', '/o/x.qcow2', true, 'zstd'), [
    'qemu-img',
    'convert',
    '-f',
    'raw',
    '-O',
    'qcow2',
    '-c',
    '-o',
    'compression_type=zstd',
    '-m',
    '2',
    '-W',
    '-p',
    '/w/disk.raw',
    '/o/x.qcow2',
  ]);
  // zlib is qcow2's own default: no -o compression_type, which qemu-img before 5.1 refuses
  assert.equal(qemuImgConvertArgv('/w/disk.raw', '/o/x.qcow2', true, 'zlib', 8), [
    'qemu-img',
    'convert',
    '-f',
    'raw',
    '-O',
    'qcow2',
    '-c',
    '-m',
    '8',
    '-W',
    '-p',
    '/w/disk.raw',
    '/o/x.qcow2',
  ]);
  assert.equal(qemuImgConvertArgv('/w/disk.raw', '/o/x.qcow2', false, 'zstd'), [
    'qemu-img',
    'convert',
    '-f',
    'raw',
    '-O',
    'qcow2',
    '-m',
    '2',
    '-W',
    '-p',
    '/w/disk.raw',
    '/o/x.qcow2',
  ]);
  // reproducible: clusters written in order (no -W), coroutines kept
  assert.equal(qemuImgConvertArgv('/w/disk.raw', '/o/x.qcow2', true, 'zstd', 2, false).slice(9), [
    '-m',
    '2',
    '-p',
    '/w/disk.raw',
    '/o/x.qcow2',
  ]);
  assert.equal(qemuImgConvertArgv('/w/disk.raw', '/o/x.qcow2', true, 'zlib', 2, false).slice(6), [
    '-c',
    '-m',
    '2',
    '-p',
    '/w/disk.raw',
    '/o/x.qcow2',
  ]);
  // coroutines clamped to qemu-img's 1..16
  assert.is(qemuImgConvertArgv('a', 'b', false, 'zstd', 0)[7], '1');
  assert.is(qemuImgConvertArgv('a', 'b', false, 'zstd', 64)[7], '16');
});

test('qcow2Compression: compressed with zlib unless the profile says otherwise; plan and log wording', () => {
  assert.equal(qcow2Compression(), { compress: true, compressionType: 'zlib' });
  assert.equal(qcow2Compression({}), { compress: true, compressionType: 'zlib' });
  assert.equal(qcow2Compression({ compressionType: 'zstd' }), { compress: true, compressionType: 'zstd' });
  assert.equal(qcow2Compression({ compress: false }), { compress: false, compressionType: 'zlib' });
  assert.is(describeQcow2Compression(qcow2Compression()), 'compressed, zlib');
  assert.is(describeQcow2Compression(qcow2Compression({ compressionType: 'zstd' })), 'compressed, zstd');
  assert.is(describeQcow2Compression(qcow2Compression({ compress: false })), 'not compressed');
  // what a build of a profile without qcow2 runs: -c and nothing that names a compression type
  const c = qcow2Compression();
  const argv = qemuImgConvertArgv('r', 'o', c.compress, c.compressionType);
  assert.ok(argv.includes('-c'));
  assert.not.ok(argv.some((a) => a.includes('compression_type')));
});

test('the qcow2 format converts with 16 requests in flight, out of order unless reproducible', async () => {
  const { qcow2 } = await import('../../../src/formats/qcow2.ts');
  const argvOf = (sde?: number) => qcow2.plan({ profile: {}, sourceDateEpoch: sde } as never).commands[0]!;
  const fast = argvOf();
  assert.is(fast[fast.indexOf('-m') + 1], String(QEMU_IMG_COROUTINES));
  assert.is(QEMU_IMG_COROUTINES, 16);
  assert.ok(fast.includes('-W'));
  const repro = argvOf(1_700_000_000);
  assert.is(repro[repro.indexOf('-m') + 1], '16');
  assert.not.ok(repro.includes('-W'));
});

test('the qcow2 plan says when its convert is skipped: compressed and not reproducible (a delta)', async () => {
  const { qcow2 } = await import('../../../src/formats/qcow2.ts');
  const unlessOf = (qcow2Fields: object, sde?: number) =>
    qcow2.plan({ profile: { qcow2: qcow2Fields }, sourceDateEpoch: sde } as never).unless;
  assert.match(unlessOf({}) ?? '', /^the base disk is cached: .*changed clusters/);
  assert.is(unlessOf({ compress: false }), undefined);
  assert.is(unlessOf({}, 1_700_000_000), undefined);
});

test('qemuImgWritesZstd: 5.1 and later (first line of qemu-img --version, as each release prints it)', () => {
  assert.is(
    qemuImgWritesZstd('qemu-img version 2.5.0 (Debian 1:2.5+dfsg-5ubuntu10), Copyright (c) 2004-2008'),
    false,
  );
  assert.is(qemuImgWritesZstd('qemu-img version 4.2.0 (Debian 1:4.2-3ubuntu6)\nCopyright'), false);
  assert.is(qemuImgWritesZstd('qemu-img version 5.0.1'), false);
  assert.is(qemuImgWritesZstd('qemu-img version 5.1.0'), true);
  assert.is(qemuImgWritesZstd('qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)'), true);
  assert.is(qemuImgWritesZstd('qemu-img version 10.0.0'), true);
  assert.is(qemuImgWritesZstd('something else'), undefined);
});

test('rsyncArgv: archive with hard links, ACLs, xattrs, numeric ids; excludes; trailing slashes normalised', () => {
  assert.equal(rsyncArgv('/cache/tree//', '/w/mnt', ['/live', '/boot/efi/*']), [
    'rsync',
    '--archive',
    '--hard-links',
    '--acls',
    '--xattrs',
    '--numeric-ids',
    '--sparse',
    '--exclude=/live',
    '--exclude=/boot/efi/*',
    '/cache/tree/',
    '/w/mnt/',
  ]);
  assert.equal(rsyncArgv('/a', '/b/', []).slice(-3), ['--sparse', '/a/', '/b/']);
});

function inputs(layout: Layout, extra: Partial<DiskInputs> = {}): DiskInputs {
  return {
    tree: '/t',
    work: '/w',
    layout,
    seed: 'seed-1',
    kernelVersion: '6.1.0-13-amd64',
    cmdline: ['console=tty0', 'console=ttyS0,115200n8'],
    title: 'minimal',
    grubTimeout: 1,
    blockDevice: 'loop',
    registryDir: '/r',
    ...extra,
  };
}

test('diskGrubCfg: default layout, /boot on its own partition: kernel paths relative to it, root=UUID of partition 1', () => {
  const { layout } = computeLayout();
  const [root, , , boot] = layout.partitions;
  assert.is(root!.number, 1);
  const cfg = diskGrubCfg(inputs(layout, { grubSerialCommand: 'serial --speed=115200 --unit=0' }));
  assert.is(
    cfg,
    [
      '# written by ib-native',
      'insmod part_gpt',
      'insmod part_msdos',
      'insmod ext2',
      'insmod iso9660',
      'insmod all_video',
      'serial --speed=115200 --unit=0',
      'terminal_input serial console',
      'terminal_output serial console',
      `search --no-floppy --set=root --fs-uuid ${fstabUuid(boot!, 'seed-1')}`,
      'set timeout=1',
      'set default=0',
      '',
      "menuentry 'minimal' {",
      `  linux /vmlinuz-6.1.0-13-amd64 root=UUID=${fstabUuid(root!, 'seed-1')} ro console=tty0 console=ttyS0,115200n8`,
      '  initrd /initrd.img-6.1.0-13-amd64',
      '}',
      '',
    ].join('\n'),
  );
  assert.is.not(fstabUuid(boot!, 'seed-1'), fstabUuid(root!, 'seed-1'));
});

const part = (p: Partial<Partition> & Pick<Partition, 'name' | 'start' | 'end'>): Partition => ({
  filesystem: 'ext4',
  flags: [],
  ...p,
});

test('diskGrubCfg: /boot on the root filesystem: search the root, kernel under /boot', () => {
  const { layout, issues } = computeLayout('4G', [
    part({ name: 'root', mountpoint: '/', start: '300MiB', end: '100%' }),
    part({ name: 'bios', filesystem: 'none', start: '1MiB', end: '2MiB', flags: ['bios_grub'] }),
    part({ name: 'efi', filesystem: 'vfat', start: '2MiB', end: '300MiB', flags: ['esp'] }),
  ]);
  assert.equal(issues, []);
  const rootUuid = fstabUuid(layout.partitions[0]!, 'seed-1');
  const cfg = diskGrubCfg(inputs(layout, { cmdline: [] }));
  assert.ok(cfg.includes(`\nsearch --no-floppy --set=root --fs-uuid ${rootUuid}\n`));
  assert.ok(
    cfg.includes(
      `\n  linux /boot/vmlinuz-6.1.0-13-amd64 root=UUID=${rootUuid} ro\n  initrd /boot/initrd.img-6.1.0-13-amd64\n`,
    ),
  );
  // default serial command when the profile gives none
  assert.ok(cfg.includes('\nserial --speed=115200 --unit=0 --word=8 --parity=no --stop=1\n'));
});

test('diskGrubCfg: a layout without a root partition is a UserError', () => {
  const { layout } = computeLayout('4G', [
    part({ name: 'data', mountpoint: '/data', start: '1MiB', end: '100%' }),
  ]);
  assert.throws(
    () => diskGrubCfg(inputs(layout)),
    (e: Error) => e instanceof UserError && /no root partition/.test(e.message),
  );
});

test.run();
