/**
 * The formats matrix (`npm run test:distros formats`; too long for CI, which netboots pxe with
 * BIOS in test/integration/47-formats): every output of one build of `minimal` with
 * SOURCE_DATE_EPOCH, made twice from the same cached rootfs (each must be the same bytes), then
 * each bootable output booted with BIOS and UEFI to login:. Prints one line per row for the
 * README's "Formats" table.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, DISTRO, SCRATCH, writeProfile } from '../helpers/host.ts';

const DIR = path.join(SCRATCH, 'formats-matrix');
const NAME = 'fmatrix';
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '900';
const ALL = 'iso,pxe,qcow2,raw,vmdk,vhdx,tar';
const SUFFIXES = ['iso', 'pxe', 'qcow2', 'img', 'vmdk', 'vhdx', 'tar.zst'];
const EPOCH = '1700000000';

async function sha256(p: string): Promise<string> {
  if (statSync(p).isDirectory()) {
    const parts = await Promise.all(
      readdirSync(p)
        .sort()
        .map(async (n) => `${n}:${await sha256(path.join(p, n))}`),
    );
    return createHash('sha256').update(parts.join('\n')).digest('hex');
  }
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const sums: Record<string, string>[] = [];

for (const run of [1, 2])
  test(`build ${run} of every format under SOURCE_DATE_EPOCH`, async () => {
    const out = path.join(DIR, `out-${run}`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const t0 = Date.now();
    const r = await cli(
      [
        'build',
        '--profile',
        writeProfile(DIR, NAME, `distro: '${DISTRO}',`),
        '--format',
        ALL,
        '--output',
        out,
      ],
      { env: { SOURCE_DATE_EPOCH: EPOCH } },
    );
    assert.is(r.exitCode, 0, `build ${run} failed:\n${r.all.slice(-3000)}`);
    const s: Record<string, string> = {};
    for (const suffix of SUFFIXES) s[suffix] = await sha256(path.join(out, `${NAME}.${suffix}`));
    sums.push(s);
    console.log(`ROW build-${run} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

test('every format is the same bytes from both builds', () => {
  const [a, b] = sums;
  assert.ok(a && b, 'a build failed');
  for (const suffix of SUFFIXES) {
    console.log(`ROW reproducible ${suffix} ${a![suffix] === b![suffix] ? 'identical' : 'DIFFERS'}`);
    assert.is(a![suffix], b![suffix], `${suffix} differs between two builds`);
  }
});

for (const [suffix, firmware] of [
  ['pxe', 'uefi'],
  ['img', 'bios'],
  ['img', 'uefi'],
  ['vmdk', 'bios'],
  ['vmdk', 'uefi'],
  ['vhdx', 'bios'],
  ['vhdx', 'uefi'],
] as const)
  test(`${NAME}.${suffix} boots to login: with ${firmware}`, async () => {
    const image = path.join(DIR, 'out-1', `${NAME}.${suffix}`);
    const r = await cli(['boot', image, '--firmware', firmware, '--timeout', TIMEOUT]);
    assert.is(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
    const s = /login: reached in ([\d.]+) s/.exec(r.stdout)?.[1];
    assert.ok(s, r.stdout);
    console.log(`ROW boot ${suffix} ${firmware} ${s} s`);
  });

test.run();
