import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeLayout } from '../../../src/disk/layout.ts';
import {
  ddIntoArgv,
  debugfsArgv,
  debugfsQuote,
  debugfsTimesScript,
  hiddenInPartition,
  nameMatches,
  nestedMountpoints,
  populateIssue,
} from '../../../src/disk/populate.ts';
import { UserError } from '../../../src/errors.ts';
import type { Partition } from '../../../src/profile/schema.ts';

const part = (p: Partial<Partition> & Pick<Partition, 'name' | 'start' | 'end'>): Partition => ({
  filesystem: 'ext4',
  flags: [],
  ...p,
});

test('nestedMountpoints: default layout: / hides boot (not boot/efi), /boot hides efi', () => {
  const { layout } = computeLayout();
  const [root, bios, efi, boot] = layout.partitions;
  assert.equal(nestedMountpoints(layout, root!), ['boot']);
  assert.equal(nestedMountpoints(layout, boot!), ['efi']);
  assert.equal(nestedMountpoints(layout, efi!), []);
  assert.equal(nestedMountpoints(layout, bios!), []);
});

test('nestedMountpoints: /boot on the root filesystem; /var and /var/lib/data; no prefix confusion', () => {
  const { layout, issues } = computeLayout('40G', [
    part({ name: 'root', mountpoint: '/', start: '600MiB', end: '20GiB' }),
    part({ name: 'bios', filesystem: 'none', start: '1MiB', end: '2MiB', flags: ['bios_grub'] }),
    part({
      name: 'efi',
      mountpoint: '/boot/efi',
      filesystem: 'vfat',
      start: '2MiB',
      end: '300MiB',
      flags: ['esp'],
    }),
    part({ name: 'var', mountpoint: '/var', start: '20GiB', end: '30GiB' }),
    part({ name: 'data', mountpoint: '/var/lib/data', start: '30GiB', end: '35GiB' }),
    part({ name: 'varx', mountpoint: '/varx', start: '35GiB', end: '100%' }),
  ]);
  assert.equal(issues, []);
  const [root, , , v, data, varx] = layout.partitions;
  assert.equal(nestedMountpoints(layout, root!), ['boot/efi', 'var', 'varx']);
  assert.equal(nestedMountpoints(layout, v!), ['lib/data']);
  assert.equal(nestedMountpoints(layout, data!), []);
  assert.equal(nestedMountpoints(layout, varx!), []);
});

test('hiddenInPartition: each pattern goes to the filesystem that holds it, relative to its mount point', () => {
  const { layout } = computeLayout();
  const [root, , efi, boot] = layout.partitions;
  const patterns = [
    '/live',
    'etc/ssh/ssh_host_*',
    'var/lib/apt/lists/*',
    'boot/old-*',
    'boot/efi/EFI/x',
    'bootstrap',
  ];
  assert.equal(hiddenInPartition(layout, root!, patterns), [
    { dir: '', name: 'live' },
    { dir: 'etc/ssh', name: 'ssh_host_*' },
    { dir: 'var/lib/apt/lists', name: '*' },
    // `boot` is its own filesystem: not the root's; `bootstrap` is not under it
    { dir: '', name: 'bootstrap' },
  ]);
  assert.equal(hiddenInPartition(layout, boot!, patterns), [{ dir: '', name: 'old-*' }]);
  // the ESP is FAT, filled by ib-native alone, but the rule holds for any mounted partition
  assert.equal(hiddenInPartition(layout, efi!, patterns), [{ dir: 'EFI', name: 'x' }]);
});

test('hiddenInPartition: a pattern leaving the image, empty, or with a wildcard in a folder is refused', () => {
  const { layout } = computeLayout();
  const root = layout.partitions[0]!;
  for (const bad of ['../etc/passwd', 'var/../../x', '', '/', 'var//x', 'var/*/x'])
    assert.throws(
      () => hiddenInPartition(layout, root, [bad]),
      (e: unknown) => e instanceof UserError,
    );
});

test('nameMatches: * is any run of characters within the name; everything else is literal', () => {
  assert.ok(nameMatches('ssh_host_*', 'ssh_host_ed25519_key'));
  assert.ok(nameMatches('ssh_host_*', 'ssh_host_'));
  assert.ok(nameMatches('*.deb', 'a.deb'));
  assert.not.ok(nameMatches('*.deb', 'a.debx'));
  assert.not.ok(nameMatches('*.bin', 'pkgcacheXbin'));
  assert.not.ok(nameMatches('a?c', 'abc'));
  assert.ok(nameMatches('a?c', 'a?c'));
  assert.ok(nameMatches('*', 'line\nbreak'));
  assert.not.ok(nameMatches('ssh_host_*', 'xssh_host_key'));
});

test('populateIssue: ext4 and vfat can be made from a tree; xfs cannot, and says why', () => {
  assert.is(populateIssue(computeLayout().layout), undefined);
  const { layout } = computeLayout('40G', [
    part({ name: 'root', mountpoint: '/', start: '600MiB', end: '20GiB' }),
    part({ name: 'bios', filesystem: 'none', start: '1MiB', end: '2MiB', flags: ['bios_grub'] }),
    part({ name: 'efi', filesystem: 'vfat', start: '2MiB', end: '300MiB', flags: ['esp'] }),
    part({ name: 'data', mountpoint: '/data', filesystem: 'xfs', start: '20GiB', end: '100%' }),
  ]);
  assert.match(populateIssue(layout)!, /^xfs partition data: mkfs\.xfs cannot .* not bit-identical$/);
});

test('debugfsQuote: double quotes, quotes doubled; line breaks refused with a UserError', () => {
  assert.is(debugfsQuote('/usr/share/doc/a b'), '"/usr/share/doc/a b"');
  assert.is(debugfsQuote('/x/say "hi"'), '"/x/say ""hi"""');
  assert.is(debugfsQuote('/'), '"/"');
  assert.throws(
    () => debugfsQuote('/etc/bad\nname'),
    (e: Error) => e instanceof UserError && /line break/.test(e.message) && /rename/.test(e.hint ?? ''),
  );
});

test('debugfsTimesScript: atime and ctime of each inode (mtime where asked), folder by folder', () => {
  assert.is(
    debugfsTimesScript([
      { path: '/', time: 1600000000, mtime: true },
      { path: '/boot', time: 1600000001, mtime: true },
      { path: '/etc', time: 1600000002 },
      { path: '/etc/my file', time: 1700000000.9 },
      { path: '/etc/<12>', time: 1 },
      { path: '/zz', time: 2 },
    ]),
    [
      'sif "/" atime @1600000000',
      'sif "/" mtime @1600000000',
      'sif "/" ctime @1600000000',
      'cd "/"',
      'sif "boot" atime @1600000001',
      'sif "boot" mtime @1600000001',
      'sif "boot" ctime @1600000001',
      'sif "etc" atime @1600000002',
      'sif "etc" ctime @1600000002',
      'cd "/etc"',
      // whole seconds, as mke2fs copied them
      'sif "my file" atime @1700000000',
      'sif "my file" ctime @1700000000',
      // not inode 12
      'sif "./<12>" atime @1',
      'sif "./<12>" ctime @1',
      'cd "/"',
      'sif "zz" atime @2',
      'sif "zz" ctime @2',
      '',
    ].join('\n'),
  );
  assert.is(debugfsTimesScript([]), '\n');
});

test('debugfsArgv and ddIntoArgv: a partition addressed by its byte offset in the disk image', () => {
  const { layout } = computeLayout();
  const [root, , efi] = layout.partitions;
  assert.equal(debugfsArgv('/w/disk.raw', root!, '/w/t.debugfs'), [
    'debugfs',
    '-w',
    '-f',
    '/w/t.debugfs',
    '/w/disk.raw?offset=1346371584',
  ]);
  assert.equal(ddIntoArgv('/w/efi.fat', '/w/disk.raw', efi!), [
    'dd',
    'if=/w/efi.fat',
    'of=/w/disk.raw',
    'bs=1M',
    // 5 MiB
    'seek=5242880',
    'oflag=seek_bytes',
    // the rest of the disk stays, zeros are not written (the FAT is mostly empty)
    'conv=notrunc,sparse',
    'status=none',
  ]);
});

test.run();
