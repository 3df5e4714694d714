import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  computeLayout,
  DEFAULT_FSTAB_OPTIONS,
  DEFAULT_PARTITIONS,
  fstabUuid,
  gptTypeCode,
  mkfsArgv,
  parseSize,
  renderFstab,
  sgdiskArgv,
  stableUuid,
} from '../../../src/disk/layout.ts';
import type { Partition } from '../../../src/profile/schema.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/** 19 GiB in 512-byte sectors. */
const SECTORS_19G = (19 * GiB) / 512;

function part(p: Partial<Partition> & Pick<Partition, 'name' | 'start' | 'end'>): Partition {
  return { filesystem: 'ext4', flags: [], ...p };
}

/** A valid layout to break one field at a time: root, bios_grub, ESP. */
function valid(): Partition[] {
  return [
    part({ name: 'root', mountpoint: '/', start: '1000MiB', end: '100%' }),
    part({ name: 'bios', filesystem: 'none', start: '1MiB', end: '2MiB', flags: ['bios_grub'] }),
    part({
      name: 'efi',
      mountpoint: '/boot/efi',
      filesystem: 'vfat',
      start: '2MiB',
      end: '300MiB',
      flags: ['esp'],
    }),
  ];
}

function issuesOf(parts: Partition[], size = '4G'): string[] {
  return computeLayout(size, parts).issues.map((i) => `${i.path}: ${i.message}`);
}

test('parseSize: every unit, fractions, percentages of a total', () => {
  assert.is(parseSize('512B'), 512);
  assert.is(parseSize('4K'), 4096);
  assert.is(parseSize('4KiB'), 4096);
  assert.is(parseSize('5M'), 5 * MiB);
  assert.is(parseSize('1284MiB'), 1284 * MiB);
  assert.is(parseSize('19G'), 19 * GiB);
  assert.is(parseSize('2GiB'), 2 * GiB);
  assert.is(parseSize('1T'), 1024 * GiB);
  assert.is(parseSize('1TiB'), 1024 * GiB);
  assert.is(parseSize('1.5G'), 1.5 * GiB);
  assert.is(parseSize('0.5K'), 512);
  assert.is(parseSize('50%', 1000), 500);
  assert.is(parseSize('33%', 1000), 330);
  // floor, never a byte past the fraction
  assert.is(parseSize('33.3%', 1001), 333);
  assert.is(parseSize('100%', 19 * GiB), 19 * GiB);
});

test('parseSize: bad strings and a percentage without a total throw', () => {
  assert.throws(() => parseSize('19'), /bad size "19"/);
  assert.throws(() => parseSize('19 G'), /bad size/);
  assert.throws(() => parseSize('-1G'), /bad size/);
  assert.throws(() => parseSize('1g'), /bad size/);
  assert.throws(() => parseSize('1MB'), /bad size/);
  assert.throws(() => parseSize('50%'), /"50%" needs a disk size/);
});

test('computeLayout: the default 19G layout, exact sectors, no issues', () => {
  const { layout, issues } = computeLayout();
  assert.equal(issues, []);
  assert.is(layout.sizeBytes, 19 * GiB);
  assert.equal(
    layout.partitions.map((p) => [p.number, p.name, p.firstSector, p.lastSector]),
    [
      // root is partition 1 but sits last on the disk, up to the last usable sector before the backup GPT
      [1, 'root', 1284 * 2048, SECTORS_19G - 34],
      [2, 'bios', 2048, 5 * 2048 - 1],
      [3, 'efi', 5 * 2048, 516 * 2048 - 1],
      [4, 'boot', 516 * 2048, 1284 * 2048 - 1],
    ],
  );
  assert.is(SECTORS_19G - 34, 39845854);
  // the placed partitions keep their fields
  assert.is(layout.partitions[2]!.mountpoint, '/boot/efi');
  assert.equal(layout.partitions[1]!.flags, ['bios_grub']);
});

test('computeLayout: an explicit end and a percentage start', () => {
  const { layout, issues } = computeLayout('4G', [
    part({ name: 'bios', filesystem: 'none', start: '1MiB', end: '2MiB', flags: ['bios_grub'] }),
    part({ name: 'efi', filesystem: 'vfat', start: '2MiB', end: '300MiB', flags: ['esp'] }),
    part({ name: 'root', mountpoint: '/', start: '50%', end: '4000MiB' }),
  ]);
  assert.equal(issues, []);
  assert.equal(
    layout.partitions.map((p) => [p.firstSector, p.lastSector]),
    [
      [2048, 4095],
      [4096, 300 * 2048 - 1],
      [2048 * 2048, 4000 * 2048 - 1],
    ],
  );
});

test('computeLayout: overlap names the other partition with its range', () => {
  const parts = valid();
  parts[2] = { ...parts[2]!, end: '1001MiB' };
  assert.equal(issuesOf(parts), ['disk.partitions[2]: overlaps disk.partitions[0] ("root": 1000MiB-100%)']);
});

test('computeLayout: end before start', () => {
  const parts = [...valid(), part({ name: 'data', mountpoint: '/data', start: '516MiB', end: '400MiB' })];
  assert.equal(issuesOf(parts), ['disk.partitions[3].end: must be after start (516MiB)']);
});

test('computeLayout: a start inside the GPT area, and a misaligned start', () => {
  const parts = valid();
  parts[1] = { ...parts[1]!, start: '512K' };
  assert.equal(issuesOf(parts), [
    'disk.partitions[1].start: must be at least 1MiB (room for the GPT), got 512K',
    'disk.partitions[1].start: 512K is not aligned to 1MiB',
  ]);
  const mis = valid();
  mis[0] = { ...mis[0]!, start: '1000.5MiB' };
  assert.equal(issuesOf(mis), ['disk.partitions[0].start: 1000.5MiB is not aligned to 1MiB']);
});

test('computeLayout: no root partition', () => {
  const parts = valid();
  parts[0] = { ...parts[0]!, mountpoint: '/srv' };
  assert.equal(issuesOf(parts), ['disk.partitions: no root partition: one partition needs mountpoint "/"']);
});

test('computeLayout: ESP too small, and an ESP that is not vfat', () => {
  const parts = valid();
  parts[2] = { ...parts[2]!, end: '200MiB' };
  assert.equal(issuesOf(parts), ['disk.partitions[2]: EFI system partition is too small: at least 260MiB']);
  const ext = valid();
  ext[2] = { ...ext[2]!, filesystem: 'ext4' };
  assert.equal(issuesOf(ext), ['disk.partitions[2].filesystem: an EFI system partition must be vfat']);
  // exactly 260MiB is enough
  const exact = valid();
  exact[2] = { ...exact[2]!, end: '262MiB' };
  assert.equal(issuesOf(exact), []);
});

test('computeLayout: a partition beyond the end of the disk', () => {
  const parts = valid();
  parts[0] = { ...parts[0]!, end: '5G' };
  assert.equal(issuesOf(parts), [
    'disk.partitions[0].end: 5G is beyond the end of the 4G disk; grow disk.size or shrink the partition',
  ]);
  // the last usable sector is before the 34-sector backup GPT: 4G exactly does not fit
  const full = valid();
  full[0] = { ...full[0]!, end: '4G' };
  assert.equal(issuesOf(full).length, 1);
});

test('computeLayout: no bios_grub, no esp', () => {
  const noBios = valid().filter((p) => p.name !== 'bios');
  assert.equal(issuesOf(noBios), [
    'disk.partitions: no bios_grub partition: BIOS boot needs one (1MiB-5MiB in the default layout)',
  ]);
  const noEsp = valid().filter((p) => p.name !== 'efi');
  assert.equal(issuesOf(noEsp), [
    'disk.partitions: no EFI system partition (flag "esp"): UEFI boot needs one',
  ]);
});

test('computeLayout: duplicate mountpoint and duplicate name', () => {
  const parts = [...valid(), part({ name: 'root', mountpoint: '/', start: '1MiB', end: '1MiB' })];
  parts[0] = { ...parts[0]!, end: '3000MiB' };
  parts[3] = { ...parts[3]!, start: '3000MiB', end: '3500MiB' };
  assert.equal(issuesOf(parts), [
    'disk.partitions[3].mountpoint: / is mounted twice (also disk.partitions[0])',
    'disk.partitions[3].name: duplicate partition name "root"',
  ]);
});

test('computeLayout: bios_grub with a filesystem, a filesystem without mountpoint', () => {
  const parts = valid();
  parts[1] = { ...parts[1]!, filesystem: 'ext4' };
  assert.equal(issuesOf(parts), [
    'disk.partitions[1].filesystem: a bios_grub partition holds no filesystem: use "none"',
    'disk.partitions[1].mountpoint: a partition with a filesystem needs a mountpoint',
  ]);
});

test('gptTypeCode', () => {
  assert.is(gptTypeCode(part({ name: 'b', start: '1M', end: '2M', flags: ['bios_grub'] })), 'EF02');
  assert.is(gptTypeCode(part({ name: 'e', start: '1M', end: '2M', flags: ['esp'] })), 'EF00');
  assert.is(gptTypeCode(part({ name: 'r', start: '1M', end: '2M', flags: ['boot'] })), '8300');
  assert.is(gptTypeCode(part({ name: 'r', start: '1M', end: '2M' })), '8300');
});

test('stableUuid: version-4 shaped, taken from sha256 of the seed, deterministic', () => {
  const u = stableUuid('seed');
  assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const h = createHash('sha256').update('seed').digest('hex');
  assert.is(u.slice(0, 8), h.slice(0, 8));
  assert.is(u.slice(9, 13), h.slice(8, 12));
  assert.is(u.slice(24), h.slice(20, 32));
  assert.is(u, '19b25856-e1c1-40ca-834c-ffc8b59b23ad');
  assert.is(stableUuid('seed'), u);
  assert.is.not(stableUuid('seed2'), u);
  for (let i = 0; i < 200; i++)
    assert.match(
      stableUuid(`s${i}`),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
});

test('sgdiskArgv: exact argv for the default layout', () => {
  const { layout } = computeLayout();
  assert.equal(sgdiskArgv('/x/disk.raw', layout, 's1'), [
    'sgdisk',
    '--zap-all',
    '--clear',
    '--disk-guid=45f9b9fe-7805-4ba5-9a1b-1b4019c447d9',
    '--new=1:2629632:39845854',
    '--typecode=1:8300',
    '--change-name=1:root',
    '--partition-guid=1:cecab435-20fc-47fb-adf8-6e3cb1830fb6',
    '--new=2:2048:10239',
    '--typecode=2:EF02',
    '--change-name=2:bios',
    '--partition-guid=2:d12e37f2-aa82-424e-99d9-f12c9176eafb',
    '--new=3:10240:1056767',
    '--typecode=3:EF00',
    '--change-name=3:efi',
    '--partition-guid=3:7d7aaa1a-ac54-4708-95a1-8964e47f9d19',
    '--new=4:1056768:2629631',
    '--typecode=4:8300',
    '--change-name=4:boot',
    '--partition-guid=4:cf463726-d02a-464f-ac19-e2d684c2b633',
    '/x/disk.raw',
  ]);
  assert.is(sgdiskArgv('/x/disk.raw', layout, 's1')[3], `--disk-guid=${stableUuid('s1:disk')}`);
});

test('sgdiskArgv: boot and legacy_boot flags set the legacy BIOS bootable attribute', () => {
  const parts = valid();
  parts[0] = { ...parts[0]!, flags: ['legacy_boot'] };
  const argv = sgdiskArgv('d.raw', computeLayout('4G', parts).layout, 's');
  assert.equal(
    argv.filter((a) => a.startsWith('--attributes')),
    ['--attributes=1:set:2'],
  );
  assert.is(
    argv.indexOf('--attributes=1:set:2'),
    argv.indexOf(`--partition-guid=1:${stableUuid('s:part:root')}`) + 1,
  );
});

test('renderFstab: exact text, shallow mounts first, FAT ids as XXXX-XXXX', () => {
  const { layout } = computeLayout();
  assert.is(
    renderFstab(layout, 's1'),
    [
      '# <file system> <mount point> <type> <options> <dump> <pass>   (written by ib-native)',
      'UUID=06a41d3b-5011-4681-885b-02ae581147a1 / ext4 defaults,errors=remount-ro,noatime 0 1',
      'UUID=97cf790a-118e-49e4-96f0-15335dbd44c4 /boot ext4 defaults,errors=remount-ro,noatime 0 2',
      'UUID=04A2-1F98 /boot/efi vfat defaults,errors=remount-ro,noatime 0 1',
      '',
    ].join('\n'),
  );
  assert.is(fstabUuid(DEFAULT_PARTITIONS[2]!, 's1'), '04A2-1F98');
});

test('renderFstab: default options and pass when the partition gives none; unmounted partitions left out', () => {
  const layout = computeLayout('4G', [
    part({ name: 'data', mountpoint: '/var/lib/data', filesystem: 'xfs', start: '2000MiB', end: '100%' }),
    part({ name: 'root', mountpoint: '/', start: '600MiB', end: '2000MiB' }),
    part({ name: 'bios', filesystem: 'none', start: '1MiB', end: '2MiB', flags: ['bios_grub'] }),
    part({ name: 'efi', filesystem: 'vfat', start: '2MiB', end: '600MiB', flags: ['esp'] }),
  ]).layout;
  const lines = renderFstab(layout, 'x').split('\n');
  assert.is(lines.length, 4);
  assert.is(lines[1], `UUID=${stableUuid('x:fs:root')} / ext4 ${DEFAULT_FSTAB_OPTIONS} 0 1`);
  assert.is(lines[2], `UUID=${stableUuid('x:fs:data')} /var/lib/data xfs ${DEFAULT_FSTAB_OPTIONS} 0 2`);
  assert.is(lines[3], '');
});

test('mkfsArgv: per filesystem, with stable ids and labels cut to each filesystem limit', () => {
  const [root, bios, efi] = DEFAULT_PARTITIONS;
  assert.equal(mkfsArgv(root!, '/dev/loop0p1', 's1'), [
    'mkfs.ext4',
    '-q',
    '-F',
    '-L',
    'root',
    '-U',
    '06a41d3b-5011-4681-885b-02ae581147a1',
    '-E',
    'hash_seed=54b920f2-3c28-4814-91d7-71dda6d111c1',
    '/dev/loop0p1',
  ]);
  assert.is(mkfsArgv(bios!, '/dev/loop0p2', 's1'), undefined);
  assert.equal(mkfsArgv(efi!, '/dev/loop0p3', 's1'), [
    'mkfs.vfat',
    '-F',
    '32',
    '-n',
    'EFI',
    // constants for mkfs.vfat's time-based fields; must come before -i, which it would reset
    '--invariant',
    '-i',
    '04A21F98',
    '/dev/loop0p3',
  ]);
  const xfs = part({ name: 'data', filesystem: 'xfs', start: '1M', end: '2M', label: 'a-very-long-labl' });
  assert.equal(mkfsArgv(xfs, '/dev/nbd0p5', 's1'), [
    'mkfs.xfs',
    '-q',
    '-f',
    '-L',
    // mkfs.xfs refuses labels over 12 characters
    'a-very-long-',
    '-m',
    `uuid=${stableUuid('s1:fs:data')}`,
    '/dev/nbd0p5',
  ]);
  const ext = part({ name: 'x', start: '1M', end: '2M', label: 'abcdefghijklmnopq' });
  assert.is(mkfsArgv(ext, 'd', 's')![4], 'abcdefghijklmnop');
  const fat = part({ name: 'efi', filesystem: 'vfat', start: '1M', end: '2M', label: 'efi-system-part' });
  assert.is(mkfsArgv(fat, 'd', 's')![4], 'EFI-SYSTEM-');
});

test('mkfsArgv without a block device: ext4 at its offset in the disk image, filled and sized; FAT as a file', () => {
  const { layout } = computeLayout();
  const [root, bios, efi, boot] = layout.partitions;
  // as on a block device, plus the offset, the folder to fill it from and the size
  const onDevice = mkfsArgv(root!, '/dev/loop0p1', 's1')!;
  assert.equal(mkfsArgv(root!, '/w/disk.raw', 's1', { ...root!, populateFrom: '/w/views/root' }), [
    ...onDevice.slice(0, -2),
    // 1284 MiB in bytes
    `${onDevice.at(-2)},offset=1346371584`,
    '-d',
    '/w/views/root',
    '/w/disk.raw',
    // 19 GiB - 1284 MiB - the 33 sectors of the backup GPT after it, in whole KiB
    `${19 * 1024 * 1024 - 1284 * 1024 - 17}k`,
  ]);
  // same identity as on a block device: the UUID does not depend on how the filesystem is made
  assert.is(mkfsArgv(boot!, 'x', 's1', boot!)![6], mkfsArgv(boot!, '/dev/loop0p4', 's1')![6]);
  assert.not.ok(mkfsArgv(boot!, 'x', 's1', boot!)!.includes('-d'));
  assert.is(mkfsArgv(bios!, 'x', 's1', bios!), undefined);
  assert.equal(mkfsArgv(efi!, '/w/efi.fat', 's1', efi!), [
    ...mkfsArgv(efi!, '/dev/loop0p3', 's1')!.slice(0, -1),
    // hidden sectors: the partition starts at sector 10240 (5 MiB), as on a partition device
    '-h',
    '10240',
    // a new file of the partition's size
    '-C',
    '/w/efi.fat',
    // 511 MiB in KiB
    '523264',
  ]);
  const xfs = part({ name: 'data', filesystem: 'xfs', start: '1M', end: '2M' });
  assert.throws(() => mkfsArgv(xfs, 'x', 's', { firstSector: 2048, lastSector: 4095 }), /xfs/);
});

test.run();
