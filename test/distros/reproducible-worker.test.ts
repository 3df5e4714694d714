/**
 * Reproducible worker images (issue 12): the worker test profile (ubuntu-focal with a DKMS module,
 * AppArmor, kubelet from the signed test repo...) built twice under SOURCE_DATE_EPOCH, into two
 * output folders, gives byte-identical ISO and QCOW2. DKMS writes its build date into make.log; the
 * date there is SOURCE_DATE_EPOCH's. 75-reproducible covers a minimal profile in `npm test`; this
 * one runs from `npm run test:distros reproducible-worker` (two worker builds on the cached rootfs).
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onFocal } from '../helpers/archive.ts';

const SDE = '1700000000';

await onFocal('reproducible-worker', async () => {
  const { sha256File } = await import('../../src/sys/files.ts');
  const { cli, ownScratch } = await import('../helpers/host.ts');
  const { PROFILE_NAME, setUpWorkerFixture } = await import('../helpers/worker.ts');
  const dir = ownScratch('reproducible-worker');
  const fx = await setUpWorkerFixture('reproducible-worker');
  test.after(() => fx.close());

  const build = async (side: string) => {
    const out = path.join(dir, `out-${side}`);
    const t0 = Date.now();
    const r = await cli(['build', '--profile', fx.profile, '--format', 'iso,qcow2', '--output', out], {
      env: { SOURCE_DATE_EPOCH: SDE },
    });
    assert.is(r.exitCode, 0, `build ${side} failed:\n${r.all.slice(-4000)}`);
    process.stdout.write(`build ${side}: ${Math.round((Date.now() - t0) / 1000)} s\n`);
    return out;
  };

  test('two builds of the worker under SOURCE_DATE_EPOCH write the same bytes', async () => {
    const a = await build('a');
    const b = await build('b');
    for (const f of [`${PROFILE_NAME}.iso`, `${PROFILE_NAME}.qcow2`]) {
      const [x, y] = await Promise.all([sha256File(path.join(a, f)), sha256File(path.join(b, f))]);
      assert.is(y, x, `${f} differs between the two builds`);
      process.stdout.write(`${f}: identical (${x})\n`);
    }
    // the one date DKMS writes into the image is SOURCE_DATE_EPOCH's
    const ls = await cli([
      'inspect',
      path.join(a, `${PROFILE_NAME}.qcow2`),
      '--ls',
      '/var/lib/dkms/ibn_hello/1.0',
    ]);
    const kver = /\d[\w.-]*-generic|\d[\w.-]*-amd64/.exec(ls.stdout)?.[0];
    assert.ok(kver, `no kernel folder under /var/lib/dkms/ibn_hello/1.0:\n${ls.all}`);
    const log = await cli([
      'inspect',
      path.join(a, `${PROFILE_NAME}.qcow2`),
      '--cat',
      `/var/lib/dkms/ibn_hello/1.0/${kver}/x86_64/log/make.log`,
    ]);
    const date = log.stdout.split('\n')[1] ?? '';
    assert.is(Date.parse(date), Number(SDE) * 1000, `make.log's date line: ${date}`);
  });

  test.run();
});
