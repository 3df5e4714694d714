import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diskModule } from '../../../src/modules/disk.ts';
import type { ProfileInput } from '../../../src/profile/schema.ts';
import { profile } from './helpers.ts';

type Parts = NonNullable<NonNullable<ProfileInput['disk']>['partitions']>;

/** The original layout: root first (Ironic), then bios_grub, ESP, /boot. */
const ORIGINAL: Parts = [
  { name: 'root', mountpoint: '/', filesystem: 'ext4', start: '1284MiB', end: '100%' },
  { name: 'bios', filesystem: 'none', start: '1MiB', end: '5MiB', flags: ['bios_grub'] },
  { name: 'efi', mountpoint: '/boot/efi', filesystem: 'vfat', start: '5MiB', end: '516MiB', flags: ['esp'] },
  { name: 'boot', mountpoint: '/boot', filesystem: 'ext4', start: '516MiB', end: '1284MiB' },
];

const check = (partitions: Parts, size = '19G') =>
  diskModule.validate!(profile({ formats: ['qcow2'], disk: { size, partitions } }));
const change = (edits: Record<string, Partial<Parts[number]>>): Parts =>
  ORIGINAL.map((p) => ({ ...p, ...edits[p.name] }));

test('disk: the original layout is valid; the module plans nothing', () => {
  assert.equal(check(ORIGINAL), []);
  assert.equal(diskModule.plan(profile({ disk: { partitions: ORIGINAL } })), []);
});

test('disk: end before start, with the path and the start', () => {
  assert.equal(check(change({ efi: { start: '516MiB', end: '300MiB' } })).slice(0, 1), [
    { path: 'disk.partitions[2].end', message: 'must be after start (516MiB)' },
  ]);
});

test('disk: overlapping partitions are found although the table is not in disk order', () => {
  const issues = check(change({ boot: { start: '400MiB' } }));
  assert.equal(
    issues.map((i) => i.path),
    ['disk.partitions[3]'],
  );
  assert.match(issues[0]!.message, /overlaps disk.partitions\[2\] \("efi": 5MiB-516MiB\)/);
});

test('disk: exactly one root, a bios_grub partition, an ESP of 260MiB at least', () => {
  assert.equal(
    check(change({ root: { mountpoint: '/srv' } })).map((i) => i.path),
    ['disk.partitions'],
  );
  assert.equal(
    check(change({ boot: { mountpoint: '/' } })).map((i) => i.path),
    ['disk.partitions[3].mountpoint'],
  );
  assert.match(check(change({ bios: { flags: [] } }))[0]!.message, /no bios_grub partition/);
  const small = check(change({ efi: { end: '200MiB' }, boot: { start: '200MiB' } }));
  assert.equal(
    small.map((i) => i.path),
    ['disk.partitions[2]'],
  );
  assert.match(small[0]!.message, /at least 260MiB/);
});

test('disk: the layout must fit the disk; the disk size must be absolute', () => {
  const issues = check(change({ root: { start: '2000MiB', end: '3000MiB' } }), '1G');
  assert.ok(
    issues.some(
      (i) => i.path === 'disk.partitions[0].end' && /beyond the end of the 1G disk/.test(i.message),
    ),
  );
  assert.equal(check(ORIGINAL, '50%'), [
    { path: 'disk.size', message: 'must be an absolute size such as 19G' },
  ]);
});

test('disk: not checked for profiles that build no QCOW2', () => {
  assert.equal(diskModule.validate!(profile({ formats: ['iso'], disk: { partitions: [] } })), []);
  assert.ok(
    diskModule.validate!(profile({ disk: { partitions: [] } })).length > 0,
    'both formats by default',
  );
});

test.run();
