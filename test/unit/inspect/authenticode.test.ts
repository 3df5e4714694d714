/**
 * The Authenticode reader on PE images made here (pe-fixtures.ts): signers by subject and issuer CN
 * from PKCS#7 signatures that `openssl cms` makes, several entries and nested signatures listed in
 * order, no security directory read as unsigned, and truncated, garbage or odd input read as
 * `unreadable` or `not a PE image` with a reason, never an exception.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeSignatures, type PeSignatures, peSignatures } from '../../../src/inspect/authenticode.ts';
import { type Keys, makeKeys, nest, pe, sign } from './pe-fixtures.ts';

let keys: Keys;
let self: Buffer;
let leaf: Buffer;
test.before(() => {
  keys = makeKeys();
  self = sign(keys, 'self');
  leaf = sign(keys, 'leaf');
});
test.after(() => keys.remove());

const SELF = { subject: 'Test Signer', issuer: 'Test Signer' };
const LEAF = { subject: 'Test Leaf', issuer: 'Test CA' };

test('a PE32+ signed once: the signer subject and issuer CN', () => {
  const s = peSignatures(pe([self]));
  assert.equal(s, { signatures: [SELF] });
  assert.is(describeSignatures(s), 'signed by Test Signer (Test Signer)');
});

test('the signer is the certificate the SignerInfo names, not the CA certificate beside it; a PE32 too', () => {
  assert.equal(peSignatures(pe([leaf])), { signatures: [LEAF] });
  assert.equal(peSignatures(pe([leaf], { magic: 0x10b })), { signatures: [LEAF] });
});

test('several certificate entries (dual-signed shim): every signer, in order', () => {
  const s = peSignatures(pe([leaf, self]));
  assert.equal(s, { signatures: [LEAF, SELF] });
  assert.is(describeSignatures(s), 'signed by Test Leaf (Test CA), and by Test Signer (Test Signer)');
});

test('a nested signature (unsigned attribute 1.3.6.1.4.1.311.2.4.1) follows its parent', () => {
  assert.equal(peSignatures(pe([nest(self, leaf)])), { signatures: [SELF, LEAF] });
  assert.equal(peSignatures(pe([nest(self, nest(leaf, self))])), { signatures: [SELF, LEAF, SELF] });
});

test('no security directory, an empty one, or too few directories: unsigned', () => {
  for (const s of [
    peSignatures(pe()),
    peSignatures(pe([], { security: { offset: 0, size: 0 } })),
    peSignatures(pe([self], { directories: 4 })),
  ]) {
    assert.equal(s, { signatures: [] });
    assert.is(describeSignatures(s), 'unsigned');
  }
});

test('not a PE image: a reason, nothing else', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.alloc(0), /no MZ header/],
    [Buffer.from('#!/bin/sh\n'), /no MZ header/],
    [Buffer.from([0x4d, 0x5a, 0x00, 0xff, 0x80]), /shorter than a DOS header/],
    [pe().subarray(0, 0x50), /PE header is past the end/],
    [pe().subarray(0, 0x80), /truncated PE image/],
  ];
  const badSignature = pe();
  badSignature.write('NE', 0x40, 'latin1');
  cases.push([badSignature, /no PE signature/]);
  const badMagic = pe();
  badMagic.writeUInt16LE(0x107, 0x40 + 24);
  cases.push([badMagic, /optional header magic 0x107/]);
  const farAway = pe();
  farAway.writeUInt32LE(0xfffffff0, 0x3c);
  cases.push([farAway, /past the end/]);
  for (const [b, re] of cases) {
    const s = peSignatures(b);
    assert.equal(s.signatures, []);
    assert.is(s.error, undefined);
    assert.match(s.notPe ?? '', re);
    assert.is(describeSignatures(s), s.notPe);
  }
});

const unreadable = (s: PeSignatures, re: RegExp) => {
  assert.match(s.error ?? '', re);
  assert.match(describeSignatures(s), /unreadable signature \(/);
};

test('a certificate table past the end of the file, or an entry past the table: unreadable', () => {
  const signed = pe([self]);
  unreadable(peSignatures(signed.subarray(0, signed.length - 9)), /runs past the end of the file/);
  const table = signed.length - Math.ceil((8 + self.length) / 8) * 8;
  const long = Buffer.from(signed);
  long.writeUInt32LE(signed.length, table);
  unreadable(peSignatures(long), /certificate entry 1 \(\d+ bytes\) runs past the table/);
  unreadable(peSignatures(pe([], { security: { offset: 0x200, size: 4 } })), /runs past the end/);
});

test('an entry of another type, garbage, BER or a signer without its certificate: unreadable', () => {
  unreadable(peSignatures(pe([self], { certificateType: 1 })), /type 0x01, not PKCS#7 signed data/);
  unreadable(peSignatures(pe([Buffer.from('garbage, not DER at all')])), /certificate entry 1: /);
  unreadable(peSignatures(pe([Buffer.from([0x30, 0x80, 0x06, 0x00, 0x00, 0x00])])), /indefinite length/);
  unreadable(peSignatures(pe([Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])])), /runs past/);
  unreadable(
    peSignatures(pe([sign(keys, 'self', '-nocerts')])),
    /signer certificate \(serial [0-9a-f]+\) is not in/,
  );
});

test('a readable entry beside an unreadable one: both said', () => {
  const s = peSignatures(pe([self, Buffer.from([0x30, 0x00])]));
  assert.equal(s.signatures, [SELF]);
  assert.match(s.error ?? '', /certificate entry 2: /);
  assert.match(describeSignatures(s), /^signed by Test Signer \(Test Signer\); unreadable signature \(/);
});

test('every truncation and thousands of corrupted bytes: a result, never an exception', () => {
  const signed = pe([leaf, nest(self, leaf)]);
  for (let n = 0; n <= signed.length; n += 7) {
    const s = peSignatures(signed.subarray(0, n));
    assert.ok(Array.isArray(s.signatures));
  }
  // a fixed sequence (LCG), so that a failure is the same on every run
  let seed = 14;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  const start =
    signed.length - Math.ceil((8 + leaf.length) / 8) * 8 - Math.ceil((8 + nest(self, leaf).length) / 8) * 8;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(signed);
    for (let k = 0; k < 1 + (i % 3); k++) b[start + (next() % (b.length - start))] = next() % 256;
    let s: PeSignatures | undefined;
    try {
      s = peSignatures(b);
    } catch (e) {
      assert.unreachable(`threw on corruption ${i}: ${(e as Error).stack}`);
    }
    assert.ok(Array.isArray(s?.signatures));
  }
});

test.run();
