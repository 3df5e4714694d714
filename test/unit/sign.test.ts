import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingRunner } from '../../src/run/runner.ts';
import { gpgSignArgv, signFile } from '../../src/sign.ts';

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
  assert.is(
    await signFile(runner, '/o/.img.partial-1', 'KEY', '/o/.img.asc.partial-1'),
    '/o/.img.asc.partial-1',
  );
});

test.run();
