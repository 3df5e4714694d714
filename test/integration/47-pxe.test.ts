/**
 * Issue 12 item 3: the `pxe` artifact (kernel, initrd, root squashfs, iPXE script) netboots in
 * QEMU over its built-in TFTP (user networking: no network outside QEMU) to `login:`, with BIOS
 * and UEFI. Until the `pxe` format plug-in exists, the artifact is made by `buildPxe` straight
 * from an unconfigured rootfs tree (read only: it is only mksquashfs's input and copied from);
 * switch `artifact()` to the engine's output once `build` makes it.
 *
 *   IB_NATIVE_PXE_TREE   the rootfs tree (default: the CI cache's bookworm rootfs)
 *   IB_NATIVE_PXE_OUT    where the artifact goes (default /var/tmp/ibt-pxe)
 *   IB_NATIVE_PXE_REUSE  1: boot an artifact already there instead of making it again
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consoleLogger } from '../../src/log.ts';
import { NOT_SHIPPED } from '../../src/modules/finalize.ts';
import { DEFAULT_LIVE_CMDLINE } from '../../src/modules/grub.ts';
import { processRunner } from '../../src/run/runner.ts';
import { buildPxe, squashfsUrl } from '../../src/stages/pxe.ts';
import { PXE_FILES } from '../../src/sys/pxe-layout.ts';
import { cli } from '../helpers/host.ts';

const TREE = process.env.IB_NATIVE_PXE_TREE ?? '/var/cache/ibt-ci/rootfs/eeefdc11f8e0e6e6f066447a/tree';
const OUT_DIR = process.env.IB_NATIVE_PXE_OUT ?? '/var/tmp/ibt-pxe';
const ARTIFACT = path.join(OUT_DIR, 'bookworm.pxe');
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '900';
const EPOCH = 1_700_000_000;

const haveTree = existsSync(path.join(TREE, 'boot'));

/** The one kernel version of the tree. */
function kernelVersion(): string {
  const v = readdirSync(path.join(TREE, 'boot'))
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length));
  assert.is(v.length, 1, `one kernel expected in ${TREE}/boot, found ${v.join(', ')}`);
  return v[0]!;
}

test('buildPxe writes the kernel, initrd, root squashfs and iPXE script', async () => {
  if (!haveTree) return console.log(`  skipped: no rootfs tree at ${TREE}`);
  if (process.env.IB_NATIVE_PXE_REUSE === '1' && existsSync(path.join(ARTIFACT, PXE_FILES.script)))
    return console.log(`  reusing ${ARTIFACT}`);
  const logger = consoleLogger();
  const started = Date.now();
  await processRunner({ logger }).run(['rm', '-rf', '--one-file-system', '--', ARTIFACT]);
  await buildPxe(processRunner({ logger }), logger, {
    tree: TREE,
    out: ARTIFACT,
    kernelVersion: kernelVersion(),
    // the ISO's command line without quiet: the console shows when the fetch ends
    cmdline: DEFAULT_LIVE_CMDLINE.filter((t) => t !== 'quiet'),
    // zstd, not the ISO's lz4: a netboot is bound by TFTP (one 1428-byte block per round trip in QEMU)
    squashfs: { compression: 'zstd', threads: 2, exclude: [...NOT_SHIPPED] },
    sourceDateEpoch: EPOCH,
  });
  const squashfs = statSync(path.join(ARTIFACT, PXE_FILES.squashfs)).size;
  console.log(
    `  made ${ARTIFACT} in ${((Date.now() - started) / 1000).toFixed(1)} s; squashfs ${(squashfs / 2 ** 20).toFixed(1)} MiB`,
  );
  assert.equal(readdirSync(ARTIFACT).sort(), Object.values(PXE_FILES).sort());
  const kv = kernelVersion();
  assert.ok(
    readFileSync(path.join(ARTIFACT, PXE_FILES.kernel)).equals(
      readFileSync(path.join(TREE, 'boot', `vmlinuz-${kv}`)),
    ),
  );
  const script = readFileSync(path.join(ARTIFACT, PXE_FILES.script), 'utf8');
  assert.match(script, `fetch=${squashfsUrl()}`);
  for (const f of Object.values(PXE_FILES)) assert.is(statSync(path.join(ARTIFACT, f)).mtimeMs, EPOCH * 1000);
});

for (const firmware of ['bios', 'uefi'] as const) {
  test(`the pxe artifact netboots to login: with ${firmware} (QEMU's TFTP, live-boot fetch=)`, async () => {
    if (!haveTree) return console.log(`  skipped: no rootfs tree at ${TREE}`);
    if (process.env.IB_NATIVE_PXE_FIRMWARE && process.env.IB_NATIVE_PXE_FIRMWARE !== firmware)
      return console.log(`  skipped: IB_NATIVE_PXE_FIRMWARE=${process.env.IB_NATIVE_PXE_FIRMWARE}`);
    const log = path.join(OUT_DIR, `bookworm.pxe-${firmware}.console`);
    const r = await cli([
      'boot',
      ARTIFACT,
      '--firmware',
      firmware,
      '--timeout',
      TIMEOUT,
      '--console-log',
      log,
    ]);
    assert.equal(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
    assert.match(r.stdout, /login: reached in \d+(\.\d+)? s/);
    const console_ = readFileSync(log, 'utf8');
    // the root came over the network, not from a disk
    assert.match(console_, `fetch=tftp://10.0.2.2/${PXE_FILES.squashfs}`);
    console.log(`  ${firmware}: ${/login: reached in [\d.]+ s/.exec(r.stdout)?.[0]}`);
  });
}

test.run();
