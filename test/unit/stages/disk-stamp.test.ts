import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  crc32c,
  derivedGuid,
  type Patch,
  vhdxIdPatches,
  vmdkDescriptorPatch,
} from '../../../src/stages/disk-stamp.ts';

const reader = (file: Buffer) => (offset: number, length: number) => file.subarray(offset, offset + length);
const apply = (file: Buffer, patches: Patch[]) => {
  const out = Buffer.from(file);
  for (const p of patches) p.bytes.copy(out, p.offset);
  return out;
};

/** A streamOptimized sparse header with its descriptor at sector 1, as qemu-img writes it. */
function vmdk(cid: string, name: string): Buffer {
  const f = Buffer.alloc(4096);
  f.write('KDMV', 0, 'latin1');
  f.writeBigUInt64LE(1n, 28);
  f.writeBigUInt64LE(2n, 36);
  f.write(
    `# Disk DescriptorFile\nversion=1\nCID=${cid}\nparentCID=ffffffff\ncreateType="streamOptimized"\n\n# Extent description\nRW 39845888 SPARSE "${name}"\n`,
    512,
    'latin1',
  );
  return f;
}

test('crc32c: the Castagnoli check value', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('vmdkDescriptorPatch: the CID from the seed and the final extent name; nothing else moves', () => {
  const stamp = (f: Buffer, seed?: string) =>
    apply(f, [vmdkDescriptorPatch(reader(f), { extentName: 'node.vmdk', ...(seed && { seed }) })]);
  const a = stamp(vmdk('5d30d606', '.node.vmdk.partial'), 's');
  const b = stamp(vmdk('a1b2c3d4', '.node.vmdk.partial'), 's');
  assert.ok(a.equals(b));
  const text = a.subarray(512, 1536).toString('latin1');
  assert.match(text, /^RW 39845888 SPARSE "node.vmdk"$/m);
  assert.not.match(text, /CID=5d30d606/);
  assert.ok(a.subarray(1536).equals(Buffer.alloc(4096 - 1536)));
  // without a seed the CID stays as drawn
  assert.match(stamp(vmdk('5d30d606', 'x.vmdk')).toString('latin1'), /CID=5d30d606/);
  assert.not.ok(stamp(vmdk('5d30d606', 'x'), 't').equals(a));
});

const KiB = 1024;
const guid = (g: string) => {
  const b = Buffer.from(g.replace(/-/g, ''), 'hex');
  return Buffer.concat([
    b.subarray(0, 4).reverse(),
    b.subarray(4, 6).reverse(),
    b.subarray(6, 8).reverse(),
    b.subarray(8),
  ]);
};

/** A VHDX's first 4 MiB as qemu-img lays it out: headers, region table, log at 1 MiB, metadata at 3 MiB. */
function vhdx(random: () => Buffer, sequence: bigint): Buffer {
  const f = Buffer.alloc(4096 * KiB);
  f.write('vhdxfile', 0, 'latin1');
  [64 * KiB, 128 * KiB].forEach((at, k) => {
    f.write('head', at, 'latin1');
    f.writeBigUInt64LE(sequence + BigInt(k), at + 8);
    random().copy(f, at + 16);
    random().copy(f, at + 32);
    f.writeUInt32LE(1024 * KiB, at + 68);
    f.writeBigUInt64LE(BigInt(1024 * KiB), at + 72);
    f.writeUInt32LE(crc32c(f.subarray(at, at + 4 * KiB)), at + 4);
  });
  f.write('regi', 192 * KiB, 'latin1');
  f.writeUInt32LE(1, 192 * KiB + 8);
  guid('8B7CA206-4790-4B9A-B8FE-575F050F886E').copy(f, 192 * KiB + 16);
  f.writeBigUInt64LE(BigInt(3072 * KiB), 192 * KiB + 32);
  // a stale log entry of the session that wrote the file, and leftover bytes
  f.write('loge', 1024 * KiB, 'latin1');
  random().copy(f, 1024 * KiB + 32);
  random().copy(f, 1024 * KiB + 100);
  const meta = 3072 * KiB;
  f.write('metadata', meta, 'latin1');
  f.writeUInt16LE(1, meta + 10);
  guid('BECA12AB-B2E6-4523-93EF-C309E000C746').copy(f, meta + 32);
  f.writeUInt32LE(64 * KiB, meta + 48);
  f.writeUInt32LE(16, meta + 52);
  random().copy(f, meta + 64 * KiB);
  return f;
}

test('vhdxIdPatches: the same file for the same seed, whatever qemu-img drew; checksums right', () => {
  let n = 0;
  const random = () => derivedGuid(String(n++), 'random');
  const a = vhdx(random, 0x1234n);
  const b = vhdx(random, 0xabcdef00n);
  assert.not.ok(a.equals(b));
  const sa = apply(a, vhdxIdPatches(reader(a), 'seed'));
  const sb = apply(b, vhdxIdPatches(reader(b), 'seed'));
  assert.ok(sa.equals(sb));
  for (const at of [64 * KiB, 128 * KiB]) {
    const h = Buffer.from(sa.subarray(at, at + 4 * KiB));
    const sum = h.readUInt32LE(4);
    h.writeUInt32LE(0, 4);
    assert.is(crc32c(h), sum);
  }
  // the second header stays the current one
  assert.is(sa.readBigUInt64LE(128 * KiB + 8), sa.readBigUInt64LE(64 * KiB + 8) + 1n);
  assert.ok(sa.subarray(1024 * KiB, 2048 * KiB).equals(Buffer.alloc(1024 * KiB)));
  assert.ok(sa.subarray(3136 * KiB, 3136 * KiB + 16).equals(derivedGuid('seed', 'vhdx-disk-id')));
  assert.not.ok(apply(a, vhdxIdPatches(reader(a), 'other')).equals(sa));
  // a log still to replay is not thrown away
  const live = Buffer.from(a);
  random().copy(live, 64 * KiB + 48);
  assert.throws(() => vhdxIdPatches(reader(live), 'seed'), /log to replay/);
});

test.run();
