/**
 * Signed PE images for the Authenticode tests, made here: a minimal PE32+ (or PE32) whose security
 * directory points at WIN_CERTIFICATE entries, each a PKCS#7 SignedData made by `openssl cms`
 * with throwaway keys; a small DER writer to nest one signature in another's unsigned attributes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface PeOptions {
  /** 0x20b (PE32+, default) or 0x10b (PE32). */
  magic?: number;
  /** NumberOfRvaAndSizes (default 16). */
  directories?: number;
  /** The security directory as written, instead of the table's place and size. */
  security?: { offset: number; size: number };
  /** WIN_CERTIFICATE type (default 2, PKCS#7 signed data). */
  certificateType?: number;
}

/** A PE image with no sections, then `signatures` as its attribute certificate table (8-byte aligned). */
export function pe(signatures: readonly Buffer[] = [], o: PeOptions = {}): Buffer {
  const magic = o.magic ?? 0x20b;
  const [countAt, dirsAt, optionalSize] = magic === 0x10b ? [92, 96, 224] : [108, 112, 240];
  const headers = Buffer.alloc(0x40 + 24 + optionalSize + 8);
  headers.write('MZ', 0, 'latin1');
  headers.writeUInt32LE(0x40, 0x3c);
  headers.write('PE\0\0', 0x40, 'latin1');
  headers.writeUInt16LE(0x8664, 0x44);
  headers.writeUInt16LE(optionalSize, 0x40 + 20);
  const opt = 0x40 + 24;
  headers.writeUInt16LE(magic, opt);
  headers.writeUInt32LE(o.directories ?? 16, opt + countAt);
  const entries = signatures.map((der) => {
    const e = Buffer.alloc(Math.ceil((8 + der.length) / 8) * 8);
    e.writeUInt32LE(8 + der.length, 0);
    e.writeUInt16LE(0x0200, 4);
    e.writeUInt16LE(o.certificateType ?? 2, 6);
    der.copy(e, 8);
    return e;
  });
  const table = Buffer.concat(entries);
  const security = o.security ?? (table.length ? { offset: headers.length, size: table.length } : undefined);
  if (security) {
    headers.writeUInt32LE(security.offset, opt + dirsAt + 4 * 8);
    headers.writeUInt32LE(security.size, opt + dirsAt + 4 * 8 + 4);
  }
  return Buffer.concat([headers, table]);
}

/** Throwaway keys and certificates: a self-signed `Test Signer`, and `Test Leaf` issued by `Test CA`. */
export interface Keys {
  dir: string;
  remove(): void;
}

const openssl = (dir: string, ...args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeKeys(): Keys {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-pe-'));
  openssl(dir, 'req', '-x509', ...EC, '-subj', '/CN=Test Signer', '-keyout', 'self.key', '-out', 'self.pem');
  openssl(dir, 'req', '-x509', ...EC, '-subj', '/O=Test/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl(dir, 'req', ...EC, '-subj', '/O=Test/CN=Test Leaf', '-keyout', 'leaf.key', '-out', 'leaf.csr');
  // a serial with its high bit set: DER gives it a leading zero byte
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    '0x80aa55',
    '-days',
    '2',
    '-out',
    'leaf.pem',
  );
  writeFileSync(path.join(dir, 'content'), 'stands for the SpcIndirectDataContent\n');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A detached PKCS#7 SignedData (DER) by `self` (Test Signer) or `leaf` (Test Leaf, with the CA certificate). */
export function sign(keys: Keys, who: 'self' | 'leaf', ...more: string[]): Buffer {
  const out = `${who}-${Math.random().toString(36).slice(2)}.der`;
  openssl(
    keys.dir,
    'cms',
    '-sign',
    '-binary',
    '-noattr',
    '-outform',
    'DER',
    '-in',
    'content',
    '-signer',
    `${who}.pem`,
    '-inkey',
    `${who}.key`,
    ...(who === 'leaf' ? ['-certfile', 'ca.pem'] : []),
    ...more,
    '-out',
    out,
  );
  return readFileSync(path.join(keys.dir, out));
}

/** A DER element: tag, length, content. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** The elements inside a DER element (definite lengths only; enough for openssl's output). */
export function split(der: Buffer): Buffer[] {
  const lengthAt = (pos: number): [number, number] => {
    const first = der[pos + 1]!;
    if (!(first & 0x80)) return [first, 2];
    const n = first & 0x7f;
    return [Number.parseInt(der.subarray(pos + 2, pos + 2 + n).toString('hex'), 16), 2 + n];
  };
  const [len, head] = lengthAt(0);
  const out: Buffer[] = [];
  for (let pos = head; pos < head + len; ) {
    const [l, h] = lengthAt(pos);
    out.push(der.subarray(pos, pos + h + l));
    pos += h + l;
  }
  return out;
}

/** `outer` with `inner` as a nested signature (1.3.6.1.4.1.311.2.4.1) in its SignerInfo's unsigned attributes. */
export function nest(outer: Buffer, inner: Buffer): Buffer {
  const [type, explicit] = split(outer);
  const [signedData] = split(explicit!);
  const fields = split(signedData!);
  const [signerInfo] = split(fields.at(-1)!);
  const nestedOid = Buffer.from('060a2b060104018237020401', 'hex');
  const attribute = tlv(0x30, nestedOid, tlv(0x31, inner));
  const newSignerInfo = tlv(0x30, ...split(signerInfo!), tlv(0xa1, attribute));
  const newSignedData = tlv(0x30, ...fields.slice(0, -1), tlv(0x31, newSignerInfo));
  return tlv(0x30, type!, tlv(0xa0, newSignedData));
}
