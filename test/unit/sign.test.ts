import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingRunner } from '../../src/run/runner.ts';
import { gpgSignArgv, publishSignature, signatureOf, signFile } from '../../src/sign.ts';

test('gpg signs detached and ASCII-armored with the given key, never asking', () => {
  assert.equal(gpgSignArgv('ABCD', '/o/.x.iso.partial-1', '/o/.x.iso.partial-1.asc'), [
    'gpg',
    '--batch',
    '--yes',
    '--local-user',
    'ABCD',
    '--armor',
    '--detach-sign',
    '--output',
    '/o/.x.iso.partial-1.asc',
    '--',
    '/o/.x.iso.partial-1',
  ]);
});

test('signFile runs gpg through the runner and names <file>.asc', async () => {
  const runner = recordingRunner();
  const out = await signFile(runner, '/o/img', 'KEY');
  assert.is(out, '/o/img.asc');
  assert.equal(runner.calls, [gpgSignArgv('KEY', '/o/img', '/o/img.asc')]);
});

test('publishSignature moves the signature beside the image, or removes a stale one', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ibn-sign-'));
  try {
    const final = path.join(dir, 'm.qcow2');
    const aside = path.join(dir, '.m.qcow2.partial-1');
    writeFileSync(signatureOf(aside), 'sig');
    publishSignature(aside, final, true);
    assert.equal(readdirSync(dir), ['m.qcow2.asc']);
    // an unsigned build must not leave the previous image's signature beside the new image
    publishSignature(aside, final, false);
    assert.not.ok(existsSync(signatureOf(final)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
