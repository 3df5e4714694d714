import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeLayout } from '../../../src/disk/layout.ts';
import {
  debugfsArgv,
  debugfsQuote,
  debugfsTimesScript,
  mtoolsImage,
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

test('debugfsTimesScript: atime, mtime and ctime of each inode set to one whole second', () => {
  assert.is(
    debugfsTimesScript([
      { path: '/', time: 1600000000 },
      { path: '/etc/my file', time: 1700000000.9 },
    ]),
    [
      'sif "/" atime @1600000000',
      'sif "/" mtime @1600000000',
      'sif "/" ctime @1600000000',
      'sif "/etc/my file" atime @1700000000',
      'sif "/etc/my file" mtime @1700000000',
      'sif "/etc/my file" ctime @1700000000',
      '',
    ].join('\n'),
  );
  assert.is(debugfsTimesScript([]), '\n');
});

test('debugfsArgv and mtoolsImage: a partition addressed by its byte offset in the disk image', () => {
  const { layout } = computeLayout();
  const [root, , efi] = layout.partitions;
  assert.equal(debugfsArgv('/w/disk.raw', root!, '/w/t.debugfs'), [
    'debugfs',
    '-w',
    '-f',
    '/w/t.debugfs',
    '/w/disk.raw?offset=1346371584',
  ]);
  assert.is(mtoolsImage('/w/disk.raw', efi!), '/w/disk.raw@@5242880');
});

test.run();
