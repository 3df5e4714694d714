/**
 * The firmware's refusals on the serial console (src/boot/refusals.ts) and the watch that stops at
 * them. The console is OVMF's as captured on a Debian 12 host (ovmf 2022.11, TCG): an unsigned grub
 * as \EFI\BOOT\BOOTX64.EFI on a virtio disk, booted with `boot --secure-boot`.
 */
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BootFailedError, BootTimeoutError, watchConsole } from '../../../src/boot/console.ts';
import { consoleFailure, SECURE_BOOT_FAILURES } from '../../../src/boot/refusals.ts';

const CLEAR = '\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01H';
const DVD_NOT_FOUND =
  'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0): Not Found';
const LOADING = 'BdsDxe: loading Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0)';
const DENIED =
  'BdsDxe: failed to load Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x3,0x0): Access Denied';
const SHELL_REFUSED =
  'BdsDxe: failed to start Boot0008 "EFI Internal Shell" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1): Security Violation';
const NOTHING = 'BdsDxe: No bootable option or device was found.';
const IPXE =
  '\x1b[1m\x1b[37m\x1b[40miPXE 1.0.0+git-20190125.36a4c85-5.1\x1b[0m\x1b[37m\x1b[40m -- Open Source Network Boot Firmware -- \x1b[0m\r\n';

const failed = (p: Promise<unknown>) =>
  p.then(
    () => assert.unreachable('the watch should have failed'),
    (e: unknown) => e,
  );

test('consoleFailure: Access Denied of any boot option and device, with its whole line', () => {
  const text = `${DVD_NOT_FOUND}\n${LOADING}\n${DENIED}\n\nnext`;
  const seen = consoleFailure(text, SECURE_BOOT_FAILURES);
  assert.is(seen?.failure.reason, 'secure-boot-rejected');
  assert.is(seen?.line, DENIED);
  // another boot number (hex), another device
  const sata =
    'BdsDxe: failed to load Boot000A "UEFI QEMU HARDDISK QM00001 " from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0): Access Denied';
  assert.is(consoleFailure(`x\n${sata}`, SECURE_BOOT_FAILURES)?.line, sata);
  assert.is(consoleFailure(`${NOTHING}\n`, SECURE_BOOT_FAILURES)?.failure.reason, 'no-bootable-device');
  // what is no refusal of the image: a device without a loader, the firmware's own shell, iPXE
  for (const line of [DVD_NOT_FOUND, LOADING, SHELL_REFUSED, 'Nothing to boot: No such file or directory'])
    assert.is(consoleFailure(`${line}\n`, SECURE_BOOT_FAILURES), undefined, line);
});

test('watchConsole with SECURE_BOOT_FAILURES stops at Access Denied, split over chunks, with the reason and line', async () => {
  const s = new PassThrough();
  const started = Date.now();
  const p = watchConsole(s, { timeoutMs: 5000, failOn: SECURE_BOOT_FAILURES });
  s.write(`${CLEAR}${DVD_NOT_FOUND}\r\n${LOADING}\r\n`);
  s.write(DENIED.slice(0, -8));
  s.write(`${DENIED.slice(-8)}\r\n\r\n\r\n${IPXE}`);
  const err = await failed(p);
  assert.instance(err, BootFailedError);
  const e = err as BootFailedError;
  assert.ok(Date.now() - started < 2000, 'failed at once, not at the timeout');
  assert.is(e.reason, 'secure-boot-rejected');
  assert.is(e.consoleLine, DENIED);
  assert.match(
    e.message,
    /^the firmware refused the boot loader: Secure Boot rejected an unsigned EFI binary/,
  );
  assert.ok(e.message.includes(`\nconsole: ${DENIED}\n`));
  assert.equal(e.pending, ['login prompt']);
  assert.match(e.hint ?? '', /signed/);
  assert.ok(e.console.includes(DVD_NOT_FOUND), 'the console so far, cleaned');
  s.write('more after the failure\r\n'); // drained, no second settlement
  s.end();
});

test("watchConsole: No bootable option or device ends the wait too, also in the console's last words", async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { timeoutMs: 5000, failOn: SECURE_BOOT_FAILURES });
  s.write(`${SHELL_REFUSED}\r\n`);
  s.end(`${NOTHING}\r\nBdsDxe: Press any key to enter the Boot Manager Menu.`);
  const e = (await failed(p)) as BootFailedError;
  assert.is(e.reason, 'no-bootable-device');
  assert.is(e.consoleLine, NOTHING);
});

test('without failOn the same console is only a timeout (plain boots wait as before)', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { timeoutMs: 100 });
  s.write(`${DENIED}\r\n${NOTHING}\r\n`);
  const e = await failed(p);
  assert.instance(e, BootTimeoutError);
  assert.is((e as BootFailedError).reason, undefined);
});

test('a login prompt before any refusal line is a success', async () => {
  const s = new PassThrough();
  const p = watchConsole(s, { timeoutMs: 2000, failOn: SECURE_BOOT_FAILURES });
  s.write(`${DVD_NOT_FOUND}\r\nDebian GNU/Linux 12 node ttyS0\r\n\r\nnode login: `);
  const r = await p;
  assert.match(r.console, /node login: $/);
});

test.run();
