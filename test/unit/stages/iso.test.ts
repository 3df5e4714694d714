import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import { rsyncArgv } from '../../../src/stages/disk.ts';
import {
  defaultMetaData,
  ISO_VOLUME_ID,
  layerCopyArgv,
  mksquashfsArgv,
  OVERLAY_PRIVATE_XATTRS,
  readConfigDrive,
  readSite,
  xorrisoArgv,
} from '../../../src/stages/iso.ts';

test('mksquashfsArgv: without a source date and without excludes', () => {
  assert.equal(mksquashfsArgv('/t', '/o/fs.squashfs', { compression: 'zstd', threads: 4, exclude: [] }), [
    'mksquashfs',
    '/t',
    '/o/fs.squashfs',
    '-noappend',
    '-comp',
    'zstd',
    '-processors',
    '4',
  ]);
});

test("mksquashfsArgv: a fixed creation time (file times stay the tree's); excludes come last after -e", () => {
  assert.equal(
    mksquashfsArgv('/t', '/o/fs.squashfs', {
      compression: 'xz',
      threads: 1,
      exclude: ['boot/efi', 'proc/*'],
      mkfsTime: 0,
    }),
    [
      'mksquashfs',
      '/t',
      '/o/fs.squashfs',
      '-noappend',
      '-comp',
      'xz',
      '-processors',
      '1',
      '-mkfs-time',
      '0',
      // patterns need -wildcards; plain paths do not
      '-wildcards',
      '-e',
      'boot/efi',
      'proc/*',
    ],
  );
  assert.equal(
    mksquashfsArgv('/t', '/o', { compression: 'gzip', threads: 2, exclude: ['boot/efi', 'live'] }).slice(-4),
    ['2', '-e', 'boot/efi', 'live'],
  );
  assert.ok(
    mksquashfsArgv('/t', '/o', {
      compression: 'gzip',
      threads: 2,
      exclude: ['etc/ssh/ssh_host_?', 'a[12]'],
    }).includes('-wildcards'),
  );
});

test('xorrisoArgv: volume config-2, hybrid MBR, ESP appended as partition 2, BIOS then EFI El Torito', () => {
  const guid = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
  const argv = xorrisoArgv('/w/iso-root', '/o/x.iso', '/w/bios.img', '/w/efiboot.img', { gptDiskGuid: guid });
  assert.is(ISO_VOLUME_ID, 'config-2');
  assert.equal(argv, [
    'xorriso',
    '-as',
    'mkisofs',
    '-iso-level',
    '3',
    '-rational-rock',
    '-joliet',
    '-volid',
    'config-2',
    '--gpt_disk_guid',
    guid,
    '-output',
    '/o/x.iso',
    '--grub2-mbr',
    '/usr/lib/grub/i386-pc/boot_hybrid.img',
    '-partition_offset',
    '16',
    '--mbr-force-bootable',
    '-append_partition',
    '2',
    '0xef',
    '/w/efiboot.img',
    '-appended_part_as_gpt',
    '-eltorito-catalog',
    'boot/grub/boot.cat',
    '-eltorito-boot',
    'boot/grub/bios.img',
    '-no-emul-boot',
    '-boot-load-size',
    '4',
    '-boot-info-table',
    '--grub2-boot-info',
    '-eltorito-alt-boot',
    '-e',
    '--interval:appended_partition_2:all::',
    '-no-emul-boot',
    '-graft-points',
    '/w/iso-root',
    '/boot/grub/bios.img=/w/bios.img',
  ]);
  // order matters: the first boot entry is BIOS, -eltorito-alt-boot starts the EFI one
  const at = (s: string) => argv.indexOf(s);
  assert.ok(at('-append_partition') < at('-eltorito-boot'));
  assert.ok(at('-eltorito-boot') < at('-eltorito-alt-boot'));
  assert.ok(at('-eltorito-alt-boot') < at('--interval:appended_partition_2:all::'));
  assert.is(xorrisoArgv('/r', '/o', '/b', '/e', { gptDiskGuid: guid, volid: 'OTHER' })[8], 'OTHER');
});

test('xorrisoArgv: with SOURCE_DATE_EPOCH, volume dates from it and atime/ctime set to each mtime', () => {
  const argv = xorrisoArgv('/r', '/o', '/b', '/e', { gptDiskGuid: 'g', date: 1700000000 });
  assert.equal(argv.slice(9, 14), [
    '--gpt_disk_guid',
    'g',
    // 2023-11-14 22:13:20 UTC, centiseconds 00
    '--modification-date=2023111422132000',
    '--set_all_file_dates',
    'set_to_mtime',
  ]);
  assert.is(argv[14], '-output');
  assert.not.ok(xorrisoArgv('/r', '/o', '/b', '/e', { gptDiskGuid: 'g' }).some((a) => a.includes('date')));
});

test('layerCopyArgv: the upper folder copied whole, without overlayfs bookkeeping xattrs', () => {
  assert.equal(layerCopyArgv('/w/layers/iso/upper', '/w/iso/config-iso'), [
    // rsync as for the disk (whiteouts, times, hard links, ACLs, xattrs), plus xattr rules
    ...rsyncArgv('/a', '/b', []).slice(0, -2),
    '--filter=-x trusted.overlay.uuid',
    '--filter=-x trusted.overlay.origin',
    '--filter=-x trusted.overlay.impure',
    '--filter=-x system.*',
    '/w/layers/iso/upper/',
    '/w/iso/config-iso/',
  ]);
  // what makes the layer mean what it means stays
  assert.not.ok(OVERLAY_PRIVATE_XATTRS.some((x) => /opaque|redirect|metacopy|whiteout/.test(x)));
});

test('defaultMetaData: OpenStack meta_data.json', () => {
  const text = defaultMetaData('u-1', 'node1', 'minimal');
  assert.is(
    text,
    '{\n  "uuid": "u-1",\n  "hostname": "node1",\n  "name": "minimal",\n  "launch_index": 0\n}\n',
  );
  assert.equal(JSON.parse(text), { uuid: 'u-1', hostname: 'node1', name: 'minimal', launch_index: 0 });
});

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-iso-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('readConfigDrive: reads the given files, leaves the others undefined, user-data need not be JSON', () => {
  withDir((dir) => {
    writeFileSync(path.join(dir, 'meta.json'), '{"uuid":"x"}');
    writeFileSync(path.join(dir, 'user'), '#cloud-config\nhostname: a\n');
    assert.equal(
      readConfigDrive({ metaData: path.join(dir, 'meta.json'), userData: path.join(dir, 'user') }),
      {
        metaData: '{"uuid":"x"}',
        userData: Buffer.from('#cloud-config\nhostname: a\n'),
        networkData: undefined,
      },
    );
    assert.equal(readConfigDrive({}), { metaData: undefined, userData: undefined, networkData: undefined });
  });
});

test('readConfigDrive: binary user-data (gzip) passes through byte for byte', () => {
  withDir((dir) => {
    const gz = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x80, 0x00]);
    writeFileSync(path.join(dir, 'user.gz'), gz);
    assert.ok(readConfigDrive({ userData: path.join(dir, 'user.gz') }).userData?.equals(gz));
  });
});

test('readConfigDrive: a folder, a device or an oversized file is refused, naming the flag', () => {
  withDir((dir) => {
    assert.throws(() => readConfigDrive({ userData: dir }), /--user-data .* is a folder/);
    assert.throws(
      () => readConfigDrive({ networkData: '/dev/zero' }),
      /--network-data \/dev\/zero is not a regular file/,
    );
    const big = path.join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x20));
    assert.throws(() => readConfigDrive({ metaData: big }), /--meta-data .* more than the 1048576 allowed/);
  });
});

test('readConfigDrive: a missing file names the flag', () => {
  for (const [key, flag] of [
    ['metaData', '--meta-data'],
    ['userData', '--user-data'],
    ['networkData', '--network-data'],
  ] as const) {
    assert.throws(
      () => readConfigDrive({ [key]: '/nonexistent/f' }),
      (e: Error) =>
        e instanceof UserError &&
        e.message === `${flag} file not found: /nonexistent/f` &&
        e.hint === `check the path given to ${flag}`,
    );
  }
});

test('readConfigDrive: invalid JSON in meta-data or network-data names the flag and the file', () => {
  withDir((dir) => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{uuid: x}');
    for (const [key, flag] of [
      ['metaData', '--meta-data'],
      ['networkData', '--network-data'],
    ] as const) {
      assert.throws(
        () => readConfigDrive({ [key]: bad }),
        (e: Error) => e instanceof UserError && e.message.startsWith(`${flag} ${bad} is not valid JSON: `),
      );
    }
  });
});

test('readSite: a site folder gives its name and its config drive; a bad one is refused, naming it', () => {
  withDir((dir) => {
    const site = path.join(dir, 'dc-1');
    mkdirSync(site);
    assert.throws(
      () => readSite(site),
      /--site \S+dc-1 holds none of user_data, meta_data\.json, network_data\.json/,
    );
    writeFileSync(path.join(site, 'user_data'), '#cloud-config\n');
    writeFileSync(path.join(site, 'network_data.json'), '{"links":[]}');
    assert.equal(readSite(site), {
      name: 'dc-1',
      configDrive: {
        metaData: undefined,
        userData: Buffer.from('#cloud-config\n'),
        networkData: '{"links":[]}',
      },
    });
    writeFileSync(path.join(site, 'meta_data.json'), '{not json');
    assert.throws(() => readSite(site), /meta_data\.json is not valid JSON/);
    assert.throws(() => readSite(path.join(dir, 'nowhere')), /--site \S+nowhere is not a folder/);
    const odd = path.join(dir, 'a site');
    mkdirSync(odd);
    writeFileSync(path.join(odd, 'user_data'), 'x');
    try {
      readSite(odd);
      assert.unreachable('accepted');
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, /the folder name "a site" cannot name an ISO/);
    }
  });
});

test.run();
