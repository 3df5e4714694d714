/**
 * Issue 10, item 4: a QCOW2 built with the defaults opens with old qemu-img (Ubuntu 16.04's 2.5,
 * 20.04's 4.2: see test/helpers/old-qemu.ts), and one built with the zstd opt-in does not.
 * Builds `minimal` and a zstd variant of it in one bundle (QCOW2 only), then with each old
 * binary: `info`, `check`, `convert -O raw` of the default image, the raw compared with the image
 * by the host's qemu-img (equal, sector for sector); the zstd image refused by `check` and
 * `convert`. focal's qemu-img also makes a QCOW2 with the engine's own zlib argv (a focal build
 * host), and refuses the `-o compression_type=zlib` the engine no longer passes.
 *
 * In the distro matrix, not in `npm test`: with the rootfs cached it took 3.8 min on a loaded
 * host (both QCOW2s 144 s, each old conversion of the 19 GiB disk 8-14 s); the first run adds
 * the two unpacks from the archive (1-4 min each, as loaded as the host).
 * IB_NATIVE_TEST_DISTRO picks the distro of the image (default debian-bookworm).
 * When the Ubuntu archive does not answer, the old-qemu-img tests are skipped, with the reason.
 */
import { mkdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qemuImgConvertArgv } from '../../src/stages/disk.ts';
import { cli, DISTRO, SCRATCH, writeProfile } from '../helpers/host.ts';
import { OLD_QEMUS, oldQemuImg, oldQemuTree, unavailable } from '../helpers/old-qemu.ts';

const distro = process.env.IB_NATIVE_TEST_DISTRO ?? DISTRO;
const OUT = path.join(SCRATCH, 'qcow2-old-qemu');
const ZLIB = 'minimal.qcow2';
const ZSTD = 'minimal-zstd.qcow2';

const skipped = new Map<string, string | undefined>();
for (const q of OLD_QEMUS) skipped.set(q.suite, await unavailable(q));

const seconds = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

async function hostInfo(file: string): Promise<{ compression?: string; virtualSize: number }> {
  const r = await execa('qemu-img', ['info', '--output=json', file]);
  const j = JSON.parse(r.stdout);
  return { compression: j['format-specific']?.data?.['compression-type'], virtualSize: j['virtual-size'] };
}

test(`${distro}: minimal (defaults) and minimal-zstd (compressionType: zstd) build as QCOW2`, async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const zstd = writeProfile(SCRATCH, 'minimal-zstd', `qcow2: { compressionType: 'zstd' }`);
  const t0 = Date.now();
  const r = await cli([
    'build',
    '--profile',
    'minimal',
    '--profile',
    zstd,
    '--distro',
    distro,
    '--format',
    'qcow2',
    '--output',
    OUT,
  ]);
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  console.log(`  built both QCOW2s in ${seconds(t0)} s`);
  assert.match(r.all, /qemu-img convert \(compressed, zlib\)/);
  assert.match(r.all, /qemu-img convert \(compressed, zstd\)/);
  // the host's qemu-img reads the compression type from the header
  const zlibInfo = await hostInfo(path.join(OUT, ZLIB));
  const zstdInfo = await hostInfo(path.join(OUT, ZSTD));
  assert.is(zlibInfo.compression, 'zlib');
  assert.is(zstdInfo.compression, 'zstd');
  for (const f of [ZLIB, ZSTD])
    console.log(`  ${f}: ${(statSync(path.join(OUT, f)).size / 2 ** 20).toFixed(0)} MiB`);
});

for (const q of OLD_QEMUS) {
  const reason = skipped.get(q.suite);
  const name = `${q.release}'s qemu-img ${q.version} opens the default QCOW2 (check, convert to raw, equal) and refuses the zstd one`;
  if (reason) {
    console.log(`  SKIPPED: ${name}: ${reason}`);
    test.skip(name, () => undefined);
    continue;
  }
  test(name, async () => {
    let t0 = Date.now();
    const root = await oldQemuTree(q);
    console.log(`  ${q.suite} qemu-utils unpacked in ${seconds(t0)} s`);
    const old = (...args: string[]) => oldQemuImg(root, OUT, args);

    const version = await old('--version');
    assert.match(version.output, new RegExp(`^qemu-img version ${q.version.replace('.', '\\.')}\\.`));

    // the default image: every cluster read back by the old binary
    const info = await old('info', `/images/${ZLIB}`);
    assert.is(info.exitCode, 0, info.output);
    assert.match(info.output, /file format: qcow2/);
    const check = await old('check', `/images/${ZLIB}`);
    assert.is(check.exitCode, 0, check.output);
    assert.match(check.output, /No errors were found on the image/);
    t0 = Date.now();
    const raw = path.join(OUT, `${q.suite}.raw`);
    const convert = await old(
      'convert',
      '-f',
      'qcow2',
      '-O',
      'raw',
      `/images/${ZLIB}`,
      `/images/${q.suite}.raw`,
    );
    assert.is(convert.exitCode, 0, convert.output);
    console.log(`  ${q.suite}: converted ${ZLIB} to raw in ${seconds(t0)} s`);
    try {
      const cmp = await execa(
        'qemu-img',
        ['compare', '-f', 'raw', '-F', 'qcow2', raw, path.join(OUT, ZLIB)],
        {
          reject: false,
          all: true,
        },
      );
      assert.is(cmp.exitCode, 0, `the old qemu-img read other bytes: ${cmp.all}`);
      assert.match(String(cmp.all), /Images are identical/);
    } finally {
      rmSync(raw, { force: true });
    }

    // the zstd opt-in: refused, whatever the command
    for (const args of [
      ['check', `/images/${ZSTD}`],
      ['convert', '-f', 'qcow2', '-O', 'raw', `/images/${ZSTD}`, `/images/${q.suite}-zstd.raw`],
    ]) {
      const r = await old(...args);
      assert.is.not(r.exitCode, 0, `${args[0]} of the zstd image succeeded: ${r.output}`);
      assert.match(r.output, /compression type/);
      console.log(`  ${q.suite} ${args[0]} ${ZSTD}: ${r.output.trim().split('\n').at(-1)}`);
    }
    rmSync(path.join(OUT, `${q.suite}-zstd.raw`), { force: true });

    if (q.suite === 'focal') {
      // a focal build host: the engine's zlib argv works with qemu-img 4.2, the option it dropped does not
      const small = path.join(OUT, 'small.raw');
      writeFileSync(small, '');
      truncateSync(small, 64 * 2 ** 20);
      const argv = qemuImgConvertArgv('/images/small.raw', '/images/small.qcow2', true, 'zlib');
      const made = await old(...argv.slice(1));
      assert.is(made.exitCode, 0, `${argv.join(' ')}: ${made.output}`);
      assert.is((await hostInfo(path.join(OUT, 'small.qcow2'))).compression, 'zlib');
      const typed = await old(
        ...['convert', '-f', 'raw', '-O', 'qcow2', '-c', '-o', 'compression_type=zlib'],
        '/images/small.raw',
        '/images/typed.qcow2',
      );
      assert.is.not(typed.exitCode, 0);
      assert.match(typed.output, /Invalid parameter 'compression_type'/);
      for (const f of ['small.raw', 'small.qcow2', 'typed.qcow2']) rmSync(path.join(OUT, f), { force: true });
    }
  });
}

test.run();
