import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InternalError } from '../errors.ts';

/**
 * The ids qemu-img draws at random when it writes a VMDK or a VHDX, replaced in place with ids
 * derived from a seed (so the same raw disk gives the same bytes), and a VMDK's extent name set
 * to the file's final name (it is written under a staging name). The decisions are pure: each
 * `*Patches` reads through `read(offset, length)` and returns the bytes to write where.
 *
 * VMDK (VMware's "Virtual Disk Format 1.1"): the sparse header at 0 gives the embedded text
 * descriptor's sector and size; its `CID=` line is the random content id (8 hex digits) and its
 * extent line names the file. No checksum covers it.
 *
 * VHDX (Microsoft's [MS-VHDX] 2.2): the two headers at 64 KiB and 128 KiB hold FileWriteGuid,
 * DataWriteGuid and a sequence number qemu-img starts at random (CRC-32C over the 4 KiB header);
 * the metadata region's Page 83 item is the virtual disk id. The headers' LogGuid is zero once
 * qemu-img closed the file: no log to replay, so the log region (whose stale entries carry the
 * session's random LogGuid and leftover buffer bytes) is zeroed.
 */

export interface Patch {
  offset: number;
  bytes: Buffer;
}

export type ReadAt = (offset: number, length: number) => Buffer;

/** A 16-byte id from the seed and what it names (RFC 4122 version 4 bits set). Pure. */
export function derivedGuid(seed: string, name: string): Buffer {
  const b = createHash('sha256').update(`${seed}\0${name}`).digest().subarray(0, 16);
  // VHDX stores the first three fields little-endian: data3's high nibble is byte 7
  b[7] = (b[7]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return Buffer.from(b);
}

let CRC32C_TABLE: Uint32Array | undefined;

/** CRC-32C (Castagnoli), what VHDX checksums use. Pure. */
export function crc32c(data: Buffer): number {
  if (!CRC32C_TABLE) {
    CRC32C_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      CRC32C_TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The VMDK descriptor with its CID (when a seed is given) and extent file name replaced. Pure. */
export function vmdkDescriptorPatch(read: ReadAt, o: { seed?: string; extentName: string }): Patch {
  const head = read(0, 512);
  if (head.subarray(0, 4).toString('latin1') !== 'KDMV') throw new InternalError('not a VMDK sparse extent');
  const offset = Number(head.readBigUInt64LE(28)) * 512;
  const size = Number(head.readBigUInt64LE(36)) * 512;
  if (!offset || !size) throw new InternalError('the VMDK has no embedded descriptor');
  const area = read(offset, size);
  const end = area.indexOf(0);
  let text = area.subarray(0, end < 0 ? size : end).toString('latin1');
  if (o.seed !== undefined) {
    const cid = createHash('sha256').update(`${o.seed}\0vmdk-cid`).digest('hex').slice(0, 8);
    text = text.replace(/^CID=[0-9a-f]{8}$/m, `CID=${cid}`);
  }
  if (/["\n]/.test(o.extentName)) throw new InternalError(`VMDK extent name ${o.extentName}`);
  text = text.replace(/^(R[WD]\w* \d+ SPARSE ")[^"\n]*(")/m, `$1${o.extentName}$2`);
  const bytes = Buffer.alloc(size);
  if (bytes.write(text, 'latin1') !== Buffer.byteLength(text, 'latin1') || text.length >= size)
    throw new InternalError(`the VMDK descriptor does not fit its ${size} bytes`);
  return { offset, bytes };
}

const KiB = 1024;
/** Region and metadata item GUIDs as VHDX stores them (first three fields little-endian). */
const guidBytes = (g: string): Buffer => {
  const h = g.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
};
const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const PAGE83_ITEM = guidBytes('BECA12AB-B2E6-4523-93EF-C309E000C746');

/** The VHDX's random GUIDs replaced with ones derived from `seed`, checksums recomputed. Pure. */
export function vhdxIdPatches(read: ReadAt, seed: string): Patch[] {
  if (read(0, 8).toString('latin1') !== 'vhdxfile') throw new InternalError('not a VHDX file');
  const patches: Patch[] = [];
  const fileWrite = derivedGuid(seed, 'vhdx-file-write');
  const dataWrite = derivedGuid(seed, 'vhdx-data-write');
  const headers = [64 * KiB, 128 * KiB].map((at) => {
    const h = Buffer.from(read(at, 4 * KiB));
    if (h.subarray(0, 4).toString('latin1') !== 'head') throw new InternalError(`no VHDX header at ${at}`);
    return { at, h, sequence: h.readBigUInt64LE(8) };
  });
  // qemu-img starts the sequence numbers at random: the greater is the current header, keep the order
  const [first] = headers.map((x) => x.sequence).sort((a, b) => Number(a - b));
  let log: { offset: number; length: number } | undefined;
  for (const { at, h, sequence } of headers) {
    fileWrite.copy(h, 16);
    dataWrite.copy(h, 32);
    h.writeBigUInt64LE(sequence - first! + 1n, 8);
    h.writeUInt32LE(0, 4);
    h.writeUInt32LE(crc32c(h), 4);
    patches.push({ offset: at, bytes: h });
    log = { offset: Number(h.readBigUInt64LE(72)), length: h.readUInt32LE(68) };
  }
  // no log to replay once qemu-img closed the file ([MS-VHDX] 2.2.2.1: a zero LogGuid): its
  // entries are stale, and qemu-img leaves unused bytes of its buffers in them; all zeros instead
  if (log && headers.some(({ h }) => h.subarray(48, 64).some((b) => b !== 0)))
    throw new InternalError('the VHDX has a log to replay (its LogGuid is set): qemu-img did not close it');
  if (log) patches.push({ offset: log.offset, bytes: Buffer.alloc(log.length) });
  // the metadata region (from the region table at 192 KiB), its Page 83 item
  const regions = read(192 * KiB, 64 * KiB);
  if (regions.subarray(0, 4).toString('latin1') !== 'regi') throw new InternalError('no VHDX region table');
  let metadata: number | undefined;
  for (let k = 0; k < regions.readUInt32LE(8); k++) {
    const entry = regions.subarray(16 + 32 * k, 48 + 32 * k);
    if (entry.subarray(0, 16).equals(METADATA_REGION)) metadata = Number(entry.readBigUInt64LE(16));
  }
  if (metadata === undefined) throw new InternalError('the VHDX has no metadata region');
  const table = read(metadata, 64 * KiB);
  if (table.subarray(0, 8).toString('latin1') !== 'metadata')
    throw new InternalError('no VHDX metadata table');
  for (let k = 0; k < table.readUInt16LE(10); k++) {
    const entry = table.subarray(32 + 32 * k, 64 + 32 * k);
    if (entry.subarray(0, 16).equals(PAGE83_ITEM))
      patches.push({ offset: metadata + entry.readUInt32LE(16), bytes: derivedGuid(seed, 'vhdx-disk-id') });
  }
  return patches;
}

function patchFile(file: string, decide: (read: ReadAt) => Patch[]): void {
  const fd = openSync(file, 'r+');
  try {
    const read: ReadAt = (offset, length) => {
      const b = Buffer.alloc(length);
      const n = readSync(fd, b, 0, length, offset);
      return b.subarray(0, n);
    };
    for (const p of decide(read)) writeSync(fd, p.bytes, 0, p.bytes.length, p.offset);
  } finally {
    closeSync(fd);
  }
}

/** The VMDK's extent named `finalName` (default: its own name), its CID derived from `seed` if given. */
export function stampVmdk(file: string, o: { seed?: string; finalName?: string }): void {
  const extentName = o.finalName ?? path.basename(file);
  patchFile(file, (read) => [
    vmdkDescriptorPatch(read, { extentName, ...(o.seed !== undefined && { seed: o.seed }) }),
  ]);
}

export function stampVhdxIds(file: string, seed: string): void {
  patchFile(file, (read) => vhdxIdPatches(read, seed));
}
