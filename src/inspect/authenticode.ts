/**
 * Who signed a UEFI binary (pure): the Authenticode signatures of a PE/COFF image (shim, GRUB, a
 * kernel's EFI stub). The optional header's security data directory gives the file offset and
 * size of the attribute certificate table; each WIN_CERTIFICATE entry there (8-byte aligned) holds
 * a PKCS#7 SignedData in DER. Each SignerInfo names its certificate by issuer and serial number;
 * that certificate, read with node's X509Certificate, gives the signer's subject CN and issuer CN.
 * Nested signatures (Microsoft's dual signing, an unsigned attribute) are listed after their
 * parent. Nothing is verified (no digest, no chain of trust): this says who signed, not whether the
 * signature holds. Malformed input gives a reason, never an exception; every length is checked
 * against its container.
 */
import { X509Certificate } from 'node:crypto';

export interface Signer {
  /** The signer certificate's subject CN (`Debian Secure Boot Signer 2022 - grub2`). */
  subject: string;
  /** Its issuer's CN (`Debian Secure Boot CA`). */
  issuer: string;
}

export interface PeSignatures {
  /** Every signature found, in file order; empty: unsigned (or unreadable, see `error`). */
  signatures: Signer[];
  /** Why (part of) its signature data could not be read. */
  error?: string;
  /** Why the file is no PE image this can read (then it says nothing else). */
  notPe?: string;
}

class Malformed extends Error {}

/** One DER element: its first identifier byte, where it starts, where its content starts and ends. */
interface Der {
  tag: number;
  start: number;
  body: number;
  end: number;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;
const INTEGER = 0x02;
const CONTEXT_0 = 0xa0;
const CONTEXT_1 = 0xa1;
const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
/** 1.2.840.113549.1.7.2 (PKCS#7 signedData), 1.3.6.1.4.1.311.2.4.1 (Authenticode nested signature). */
const OID_SIGNED_DATA = '2a864886f70d010702';
const OID_NESTED_SIGNATURE = '2b060104018237020401';
const MAX_NESTING = 4;

/** The DER element at `pos`, which must end by `limit`. */
function der(b: Uint8Array, pos: number, limit: number): Der {
  if (pos + 2 > limit) throw new Malformed(`a DER element at byte ${pos} runs past its container`);
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new Malformed(`a high tag number at byte ${pos}`);
  let len = b[pos + 1]!;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new Malformed(`an indefinite length (BER, not DER) at byte ${pos}`);
    if (n > 4 || body + n > limit) throw new Malformed(`a bad length at byte ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    body += n;
  }
  if (body + len > limit)
    throw new Malformed(`a DER element at byte ${pos} (${len} bytes) runs past its container`);
  return { tag, start: pos, body, end: body + len };
}

/** The elements inside a constructed one. */
function children(b: Uint8Array, e: Der): Der[] {
  if (!(e.tag & 0x20))
    throw new Malformed(`a primitive element where a constructed one belongs (byte ${e.start})`);
  const out: Der[] = [];
  for (let pos = e.body; pos < e.end; ) {
    const c = der(b, pos, e.end);
    out.push(c);
    pos = c.end;
  }
  return out;
}

function want(e: Der | undefined, tag: number, what: string): Der {
  if (!e) throw new Malformed(`${what} is missing`);
  if (e.tag !== tag) throw new Malformed(`${what}: tag ${hex(e.tag)} where ${hex(tag)} belongs`);
  return e;
}

const bodyHex = (b: Uint8Array, e: Der) => Buffer.from(b.subarray(e.body, e.end)).toString('hex');
const whole = (b: Uint8Array, e: Der) => Buffer.from(b.subarray(e.start, e.end));
/** An INTEGER's value as hex without the leading zero bytes of its two's complement form. */
const serialHex = (b: Uint8Array, e: Der) => bodyHex(b, e).replace(/^(00)+(?=.)/, '');

/** A certificate of the SignedData: its DER, its issuer Name's DER and its serial number. */
interface CertRef {
  der: Buffer;
  issuer: Buffer;
  serial: string;
}

/** A certificate's reference; undefined for one this cannot read (only the signer's must be). */
function certRef(b: Uint8Array, cert: Der): CertRef | undefined {
  try {
    return certFields(b, cert);
  } catch {
    return undefined;
  }
}

function certFields(b: Uint8Array, cert: Der): CertRef {
  const tbs = children(b, want(children(b, cert)[0], SEQUENCE, 'a certificate'));
  // version [0] EXPLICIT is optional (absent: v1)
  const i = tbs[0]?.tag === CONTEXT_0 ? 1 : 0;
  const serial = want(tbs[i], INTEGER, "a certificate's serial number");
  const issuer = want(tbs[i + 2], SEQUENCE, "a certificate's issuer");
  return { der: whole(b, cert), issuer: whole(b, issuer), serial: serialHex(b, serial) };
}

/** The CN of a name as X509Certificate prints it (one `KEY=value` per line, RFC 2253 escapes). */
function commonName(name: string): string {
  const lines = name.split('\n');
  const cn = lines.filter((l) => l.startsWith('CN=')).at(-1);
  const plain = (s: string) => s.replace(/\\(.)/g, '$1');
  return cn ? plain(cn.slice(3)) : plain(lines.join(', '));
}

function signerOf(cert: CertRef): Signer {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert.der);
  } catch {
    // (node's message speaks of PEM, its fallback once DER failed)
    throw new Malformed('the signer certificate is not a readable X.509 certificate');
  }
  return { subject: commonName(x.subject), issuer: commonName(x.issuer) };
}

/** The signers of a PKCS#7 ContentInfo holding SignedData, nested signatures after their parent. */
function signedData(b: Uint8Array, info: Der, depth: number, out: Signer[]): void {
  if (depth > MAX_NESTING) throw new Malformed(`signatures nested more than ${MAX_NESTING} deep`);
  const [type, content] = children(b, want(info, SEQUENCE, 'the PKCS#7 ContentInfo'));
  if (bodyHex(b, want(type, OID, 'the content type')) !== OID_SIGNED_DATA)
    throw new Malformed('the PKCS#7 content is not SignedData');
  const sd = children(
    b,
    want(children(b, want(content, CONTEXT_0, 'the SignedData'))[0], SEQUENCE, 'SignedData'),
  );
  // version, digestAlgorithms, contentInfo, [0] certificates, [1] crls, signerInfos
  const certs = sd.find((e, i) => i >= 3 && e.tag === CONTEXT_0);
  const refs = certs
    ? children(b, certs)
        .filter((c) => c.tag === SEQUENCE)
        .map((c) => certRef(b, c))
        .filter((c) => c !== undefined)
    : [];
  const infos = want(sd.at(-1), SET, 'the SignerInfos');
  const signers = children(b, infos);
  if (!signers.length) throw new Malformed('the SignedData has no SignerInfo');
  for (const si of signers) {
    const fields = children(b, want(si, SEQUENCE, 'a SignerInfo'));
    if (fields[1]?.tag === 0x80)
      throw new Malformed(
        'a SignerInfo names its certificate by key identifier, not issuer and serial number',
      );
    const [issuer, serial] = children(
      b,
      want(fields[1], SEQUENCE, "a SignerInfo's issuer and serial number"),
    );
    const issuerDer = whole(b, want(issuer, SEQUENCE, "the signer's issuer"));
    const serialNo = serialHex(b, want(serial, INTEGER, "the signer's serial number"));
    const cert = refs.find((r) => r.serial === serialNo && r.issuer.equals(issuerDer));
    if (!cert) throw new Malformed(`the signer certificate (serial ${serialNo}) is not in the signature`);
    out.push(signerOf(cert));
    // unsigned attributes: [1] SET OF Attribute { type, SET OF value }
    const unsigned = fields.length > 5 && fields.at(-1)!.tag === CONTEXT_1 ? fields.at(-1)! : undefined;
    for (const attr of unsigned ? children(b, unsigned) : []) {
      const [t, values] = children(b, want(attr, SEQUENCE, 'an attribute'));
      if (t?.tag !== OID || bodyHex(b, t) !== OID_NESTED_SIGNATURE) continue;
      for (const v of children(b, want(values, SET, 'a nested signature'))) signedData(b, v, depth + 1, out);
    }
  }
}

const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
const SECURITY_DIRECTORY = 4;

/** The offset and size of the attribute certificate table, or a reason this is no PE image. */
function securityDirectory(b: Uint8Array): { offset: number; size: number } | string {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== 0x4d || b[1] !== 0x5a) return 'not a PE image (no MZ header)';
  if (b.length < 0x40) return 'not a PE image (shorter than a DOS header)';
  const pe = v.getUint32(0x3c, true);
  if (pe + 24 > b.length) return 'not a PE image (its PE header is past the end of the file)';
  if (v.getUint32(pe) !== 0x50450000) return 'not a PE image (no PE signature)';
  const optionalSize = v.getUint16(pe + 20, true);
  const opt = pe + 24;
  if (opt + Math.max(optionalSize, 2) > b.length) return 'truncated PE image (optional header)';
  const magic = v.getUint16(opt, true);
  const [count, dirs] = magic === 0x20b ? [108, 112] : magic === 0x10b ? [92, 96] : [];
  if (count === undefined || dirs === undefined)
    return `not a PE32 or PE32+ image (optional header magic ${hex(magic)})`;
  if (optionalSize < count + 4) return `a PE optional header too short (${optionalSize} bytes)`;
  const n = v.getUint32(opt + count, true);
  const at = opt + dirs + SECURITY_DIRECTORY * 8;
  if (n <= SECURITY_DIRECTORY || at + 8 > opt + optionalSize) return { offset: 0, size: 0 };
  return { offset: v.getUint32(at, true), size: v.getUint32(at + 4, true) };
}

/** The Authenticode signers of a PE/COFF image (UEFI binary, EFI-stub kernel). */
export function peSignatures(b: Uint8Array): PeSignatures {
  const dir = securityDirectory(b);
  if (typeof dir === 'string') return { signatures: [], notPe: dir };
  if (!dir.offset || !dir.size) return { signatures: [] };
  const end = dir.offset + dir.size;
  if (end > b.length)
    return {
      signatures: [],
      error: `the certificate table (${dir.size} bytes at ${dir.offset}) runs past the end of the file (${b.length} bytes)`,
    };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const signatures: Signer[] = [];
  const errors: string[] = [];
  let entries = 0;
  for (let pos = dir.offset; pos + 8 <= end; entries++) {
    const length = v.getUint32(pos, true);
    const revision = v.getUint16(pos + 4, true);
    const type = v.getUint16(pos + 6, true);
    if (length < 8 || pos + length > end) {
      errors.push(`certificate entry ${entries + 1} (${length} bytes) runs past the table`);
      break;
    }
    if (type !== WIN_CERT_TYPE_PKCS_SIGNED_DATA)
      errors.push(`certificate entry ${entries + 1} is of type ${hex(type)}, not PKCS#7 signed data`);
    else if (revision !== 0x0200 && revision !== 0x0100)
      errors.push(`certificate entry ${entries + 1} has revision ${hex(revision)}`);
    else {
      const found: Signer[] = [];
      try {
        signedData(b, der(b, pos + 8, pos + length), 0, found);
        signatures.push(...found);
      } catch (e) {
        // Malformed: the reason; anything else is a bug of this reader, still no reason to fail inspect
        signatures.push(...found);
        errors.push(`certificate entry ${entries + 1}: ${(e as Error).message}`);
      }
    }
    pos += Math.ceil(length / 8) * 8;
  }
  if (!entries) errors.push(`the certificate table (${dir.size} bytes) holds no entry`);
  return errors.length ? { signatures, error: errors.join('; ') } : { signatures };
}

/** `signed by A (issuer A), and by B (issuer B)`, `unsigned`, `unreadable signature (why)`, `not a PE image (why)`. */
export function describeSignatures(s: PeSignatures): string {
  if (s.notPe) return s.notPe;
  const signed = s.signatures.length
    ? `signed by ${s.signatures.map((x) => `${x.subject} (${x.issuer})`).join(', and by ')}`
    : '';
  if (!s.error) return signed || 'unsigned';
  return `${signed ? `${signed}; ` : ''}unreadable signature (${s.error})`;
}
