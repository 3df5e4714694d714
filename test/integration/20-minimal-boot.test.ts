/**
 * Issue 2: all four boots of the images built by 10-minimal-build reach `login:` under
 * `ib-native boot`; the ISO runs the config drive's user_data (the marker on the console).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, SCRATCH } from '../helpers/host.ts';

const OUT = path.join(SCRATCH, 'minimal-out');
const MARKER = 'IBN-CONFIG-DRIVE-7f3a';
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '600';

for (const [file, firmware, expect] of [
  ['minimal.iso', 'bios', [MARKER]],
  ['minimal.qcow2', 'bios', []],
  ['minimal.qcow2', 'uefi', []],
  ['minimal.iso', 'uefi', []],
] as const) {
  test(`${file} boots to login: with ${firmware}${expect.length ? ' and runs the config drive' : ''}`, async () => {
    const image = path.join(OUT, file);
    assert.ok(existsSync(image), `${image} missing: did 10-minimal-build pass?`);
    const log = path.join(SCRATCH, `${file}-${firmware}.console`);
    const r = await cli([
      'boot',
      image,
      '--firmware',
      firmware,
      '--timeout',
      TIMEOUT,
      '--console-log',
      log,
      ...expect.flatMap((e) => ['--expect', e]),
    ]);
    assert.equal(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
    assert.match(r.stdout, /login: reached in \d+(\.\d+)? s/);
  });
}

test('a QCOW2 boot leaves the image untouched (throw-away overlay)', async () => {
  const { sha256File } = await import('../../src/sys/files.ts');
  const { readFileSync } = await import('node:fs');
  const image = path.join(OUT, 'minimal.qcow2');
  const recorded = readFileSync(`${image}.sha256`, 'utf8').split(' ')[0];
  assert.is(await sha256File(image), recorded);
});

test.run();
