/**
 * `boot --secure-boot` through bootImage with a fake QEMU: the machine and firmware it starts, a
 * fresh copy of the variables removed afterwards, and OVMF's refusal (the console lines seen on a
 * Debian 12 host with an unsigned grub) failing the boot at once with its reason.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BootOptions, bootImage } from '../../../src/boot/boot.ts';
import { BootFailedError } from '../../../src/boot/console.ts';
import { EXIT, exitCodeFor, UserError } from '../../../src/errors.ts';
import { recordingLogger } from '../../../src/log.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import { fakeQemu, workspace } from './fake-qemu.ts';

const DENIED =
  'BdsDxe: failed to load Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied';

type Fake = ReturnType<typeof fakeQemu>;
type Workspace = ReturnType<typeof workspace>;

/** Boots a fresh workspace's image under TCG, `serial` writing QEMU's console; `check` gets the result or error. */
async function bootWith(
  serial: Parameters<typeof fakeQemu>[0],
  o: (w: Workspace) => Partial<BootOptions>,
  check: (r: { w: Workspace; state: Fake['state']; result: unknown }) => void,
): Promise<void> {
  const w = workspace();
  try {
    const { spawn, state } = fakeQemu((p) => {
      state.tmpSeen = readdirSync(w.tmp).flatMap((d) => readdirSync(join(w.tmp, d)));
      serial(p);
    });
    const at = { image: w.image, tmpDir: w.tmp, logger: recordingLogger() };
    const result = await bootImage(recordingRunner(), {
      ...at,
      kvm: false,
      timeoutSec: 5,
      spawn,
      ...o(w),
    }).catch((e: unknown) => e);
    check({ w, state, result });
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
}

const drivesOf = (argv: readonly string[]) => argv.flatMap((a, i) => (a === '-drive' ? [argv[i + 1]!] : []));
const machineOf = (argv: readonly string[]) => argv[argv.indexOf('-machine') + 1];

test('an unsigned loader: the boot fails at once with the firmware line; QEMU killed, variables copy gone', async () => {
  const logger = recordingLogger();
  const started = Date.now();
  await bootWith(
    ({ stdout }) => {
      stdout.write('\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H');
      stdout.write(
        'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0): Not Found\r\n',
      );
      stdout.write('BdsDxe: loading Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)\r\n');
      stdout.write(`${DENIED}\r\n\r\n`);
    },
    (w) => ({
      secureBoot: true,
      uefi: { code: '/fw/OVMF_CODE_4M.secboot.fd', vars: w.vars },
      timeoutSec: 30,
      consoleLog: join(w.dir, 'console.log'),
      logger,
    }),
    ({ w, state, result }) => {
      assert.ok(Date.now() - started < 10_000, 'not the 30 s timeout');
      assert.instance(result, BootFailedError);
      const e = result as BootFailedError;
      assert.is(e.reason, 'secure-boot-rejected');
      assert.is(e.consoleLine, DENIED);
      assert.match(
        e.message,
        /^the firmware refused the boot loader: Secure Boot rejected an unsigned EFI binary/,
      );
      assert.match(e.hint ?? '', /signed.*; the whole console is in .*console\.log/);
      assert.is(exitCodeFor(e), EXIT.bootFailed);
      assert.is(e.crashSignal, undefined, 'no retry: the image is at fault, not the emulator');

      // the machine: SMM, a secure flash, the Secure Boot code read-only, a copy of the variables
      assert.is(machineOf(state.argv), 'q35,smm=on');
      assert.ok(state.argv.includes('driver=cfi.pflash01,property=secure,value=on'));
      const drives = drivesOf(state.argv);
      assert.ok(drives.includes('if=pflash,format=raw,unit=0,readonly=on,file=/fw/OVMF_CODE_4M.secboot.fd'));
      const vars = drives.find((d) => d.includes('unit=1'))!;
      assert.not.ok(vars.includes(w.vars), 'the template is copied, never written');
      assert.ok(state.tmpSeen.includes('OVMF_VARS.fd'));
      assert.is(readFileSync(w.vars, 'utf8'), 'vars-template');

      assert.equal(state.kills, ['SIGKILL']);
      assert.equal(readdirSync(w.tmp), [], 'the variables copy and overlay are removed');
      assert.ok(
        logger.lines.some((l) => /^info booting .*qcow2, uefi with Secure Boot enforced, TCG/.test(l)),
      );
    },
  );
});

for (const secureBoot of [true, false]) {
  test(`reaching login: is a success${secureBoot ? ' under --secure-boot' : '; a plain UEFI boot does not watch for refusals'}`, async () => {
    await bootWith(
      ({ stdout }) => stdout.write(`${secureBoot ? '' : `${DENIED}\r\n`}node login: `),
      (w) => ({ secureBoot, firmware: 'uefi', uefi: { code: '/fw/CODE.fd', vars: w.vars } }),
      ({ state, result }) => {
        assert.match((result as { console: string }).console, /login: $/);
        assert.is(machineOf(state.argv), secureBoot ? 'q35,smm=on' : 'q35');
      },
    );
  });
}

test('--secure-boot with --firmware bios is a UserError before anything starts', async () => {
  await bootWith(
    () => {},
    () => ({ secureBoot: true, firmware: 'bios' }),
    ({ w, state, result }) => {
      assert.instance(result, UserError);
      assert.is(exitCodeFor(result), EXIT.badInput);
      assert.equal(state.argv, []);
      assert.equal(readdirSync(w.tmp), []);
    },
  );
});

test.run();
