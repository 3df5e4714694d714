import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import {
  coreEarlyConfig,
  grubMkimageBiosArgv,
  patchBootImg,
  patchCoreImg,
  writeBiosBoot,
} from '../../../src/stages/grub-bios.ts';

const BOOT_IMG = '/usr/lib/grub/i386-pc/boot.img';

function pattern(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Every byte index where two equal-length buffers differ. */
function diffs(a: Buffer, b: Buffer): number[] {
  assert.is(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

test('patchBootImg: core LBA as 64-bit little-endian at 0x5c, NOPs at 0x66, nothing else', () => {
  const img = pattern(512);
  const out = patchBootImg(img, 0x0102_0304_05);
  assert.equal([...out.subarray(0x5c, 0x64)], [0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0]);
  assert.equal([...out.subarray(0x66, 0x68)], [0x90, 0x90]);
  const changed = diffs(img, out);
  for (const i of changed)
    assert.ok((i >= 0x5c && i < 0x64) || i === 0x66 || i === 0x67, `byte ${i} changed`);
  // the input is not modified
  assert.equal(img, pattern(512));
});

test('patchBootImg: on the real boot.img, the default sector 1 becomes 2048 and the drive check jump goes', () => {
  const img = readFileSync(BOOT_IMG);
  assert.is(img.readBigUInt64LE(0x5c), 1n);
  assert.equal([...img.subarray(0x66, 0x68)], [0xeb, 0x05]);
  const out = patchBootImg(img, 2048);
  assert.is(out.readBigUInt64LE(0x5c), 2048n);
  assert.equal(diffs(img, out), [0x5c, 0x5d, 0x66, 0x67]);
});

test('patchBootImg: refuses an image that is not one sector', () => {
  assert.throws(
    () => patchBootImg(Buffer.alloc(511), 1),
    (e: Error) => e instanceof UserError && /512 bytes, got 511/.test(e.message),
  );
});

test('patchCoreImg: padded to whole sectors, blocklist start=lba+1 at 0x1f4, length=sectors-1 at 0x1fc', () => {
  const core = pattern(1300);
  const out = patchCoreImg(core, 2048);
  assert.is(out.length, 3 * 512);
  assert.is(out.readBigUInt64LE(0x1f4), 2049n);
  assert.is(out.readUInt16LE(0x1fc), 2);
  // the rest of the first sector (including the segment at 0x1fe) and everything after is the input
  assert.equal(out.subarray(0, 0x1f4), core.subarray(0, 0x1f4));
  assert.equal(out.subarray(0x1fe, 1300), core.subarray(0x1fe));
  assert.equal(out.subarray(1300), Buffer.alloc(3 * 512 - 1300));
  // an exact multiple is not padded further
  assert.is(patchCoreImg(pattern(1024), 100).length, 1024);
  assert.is(patchCoreImg(pattern(1024), 100).readUInt16LE(0x1fc), 1);
});

test('coreEarlyConfig and grubMkimageBiosArgv', () => {
  assert.is(
    coreEarlyConfig('1234-ABCD', '/grub'),
    'search.fs_uuid 1234-ABCD root\nset prefix=($root)/grub\n',
  );
  assert.equal(grubMkimageBiosArgv('/w/core.img', '/w/early.cfg', '/boot/grub'), [
    'grub-mkimage',
    '--format=i386-pc',
    '--directory=/usr/lib/grub/i386-pc',
    '--output=/w/core.img',
    '--config=/w/early.cfg',
    '--prefix=/boot/grub',
    'biosdisk',
    'part_gpt',
    'part_msdos',
    'ext2',
    'xfs',
    'search_fs_uuid',
  ]);
});

function tempDisk(bytes: number): { dir: string; file: string; mbr: Buffer } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-grubbios-'));
  const file = path.join(dir, 'disk.raw');
  writeFileSync(file, '');
  truncateSync(file, bytes);
  const mbr = randomBytes(512);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const fd = openSync(file, 'r+');
  writeSync(fd, mbr, 0, 512, 0);
  // a marker right after where the core image will end
  writeSync(fd, Buffer.from('AFTER'), 0, 5, 2048 * 512 + 3 * 512);
  closeSync(fd);
  return { dir, file, mbr };
}

test('writeBiosBoot: boot code into the first 440 bytes only, core image at the bios_grub partition', () => {
  const { dir, file, mbr } = tempDisk(8 * 1024 * 1024);
  try {
    const core = pattern(1200, 3);
    writeBiosBoot(file, core, { firstSector: 2048, lastSector: 4095 });
    const after = readAt(file, 0, 512);
    const boot = patchBootImg(readFileSync(BOOT_IMG), 2048);
    assert.equal(after.subarray(0, 440), boot.subarray(0, 440));
    // disk signature, partition table and 0x55AA untouched
    assert.equal(after.subarray(440), mbr.subarray(440));
    assert.is(after.readBigUInt64LE(0x5c), 2048n);
    const written = readAt(file, 2048 * 512, 3 * 512);
    assert.equal(written, patchCoreImg(core, 2048));
    assert.is(readAt(file, 2048 * 512 + 3 * 512, 5).toString(), 'AFTER');
    // nothing between the MBR and the partition
    assert.equal(readAt(file, 512, 2047 * 512), Buffer.alloc(2047 * 512));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeBiosBoot: a core image larger than the partition is an error and nothing is written', () => {
  const { dir, file, mbr } = tempDisk(4 * 1024 * 1024);
  try {
    assert.throws(
      () => writeBiosBoot(file, pattern(2000), { firstSector: 2048, lastSector: 2050 }),
      (e: Error) =>
        e instanceof UserError &&
        e.message === 'GRUB core image (2048 bytes) does not fit the bios_grub partition (1536 bytes)' &&
        e.hint === 'make the bios_grub partition larger',
    );
    assert.equal(readAt(file, 0, 512), mbr);
    // exactly full is fine
    writeBiosBoot(file, pattern(1536), { firstSector: 2048, lastSector: 2050 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
