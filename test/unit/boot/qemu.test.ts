import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createOverlay,
  detectImageKind,
  type FirmwareSpec,
  findSecureBootFirmware,
  findUefiFirmware,
  firmwareOf,
  type QemuArgsOptions,
  qemuArgs,
} from '../../../src/boot/qemu.ts';
import { EXIT, exitCodeFor, HostNotReadyError, InternalError, UserError } from '../../../src/errors.ts';
import { recordingRunner } from '../../../src/run/runner.ts';

/** The value following a flag, for each occurrence. */
function values(argv: readonly string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

const firmwares: Record<string, FirmwareSpec> = {
  bios: { type: 'bios' },
  'uefi-combined': { type: 'uefi', code: '/usr/share/ovmf/OVMF.fd' },
  'uefi-split': { type: 'uefi', code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/tmp/b/OVMF_VARS.fd' },
};

for (const kind of ['iso', 'qcow2'] as const) {
  for (const [fwName, firmware] of Object.entries(firmwares)) {
    for (const accel of ['kvm', 'tcg'] as const) {
      for (const seed of [false, true]) {
        const name = `qemuArgs ${kind} ${fwName} ${accel}${seed ? ' +seed' : ''}`;
        test(name, () => {
          const disk = kind === 'iso' ? '/images/live.iso' : '/tmp/b/overlay.qcow2';
          const o: QemuArgsOptions = {
            kind,
            disk,
            firmware,
            accel,
            ...(seed ? { seedIso: '/tmp/b/seed.iso' } : {}),
          };
          const argv = qemuArgs(o);
          assert.is(argv[0], 'qemu-system-x86_64');
          // always: serial console on stdio, nothing graphical, no monitor, no reboot, user networking
          assert.equal(values(argv, '-serial'), ['stdio']);
          assert.equal(values(argv, '-display'), ['none']);
          assert.equal(values(argv, '-monitor'), ['none']);
          assert.ok(argv.includes('-no-reboot'));
          assert.equal(values(argv, '-nic'), ['user,model=virtio-net-pci']);
          assert.equal(values(argv, '-m'), ['2048']);
          assert.equal(values(argv, '-smp'), ['2']);
          // accelerator
          assert.equal(values(argv, '-accel'), [accel]);
          assert.equal(values(argv, '-cpu'), [accel === 'tcg' ? 'max,-erms' : 'host']);
          // image
          const drives = values(argv, '-drive');
          if (kind === 'iso') {
            assert.equal(values(argv, '-cdrom'), ['/images/live.iso']);
            assert.equal(values(argv, '-boot'), ['order=d']);
            assert.not.ok(drives.some((d) => d.includes('format=qcow2')));
          } else {
            assert.equal(values(argv, '-cdrom'), []);
            assert.ok(drives.includes('file=/tmp/b/overlay.qcow2,if=virtio,format=qcow2'));
            assert.equal(values(argv, '-boot'), ['order=c']);
          }
          // firmware (Secure Boot's machine only with --secure-boot)
          assert.equal(values(argv, '-machine'), ['q35']);
          assert.equal(values(argv, '-global'), []);
          const pflash = drives.filter((d) => d.startsWith('if=pflash'));
          if (fwName === 'bios') {
            assert.equal(values(argv, '-bios'), []);
            assert.equal(pflash, []);
          } else if (fwName === 'uefi-combined') {
            assert.equal(values(argv, '-bios'), ['/usr/share/ovmf/OVMF.fd']);
            assert.equal(pflash, []);
          } else {
            assert.equal(values(argv, '-bios'), []);
            assert.equal(pflash, [
              'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
              'if=pflash,format=raw,unit=1,file=/tmp/b/OVMF_VARS.fd',
            ]);
          }
          // seed
          const seedDrives = drives.filter((d) => d.includes('seed.iso'));
          assert.equal(seedDrives, seed ? ['file=/tmp/b/seed.iso,if=virtio,format=raw,readonly=on'] : []);
        });
      }
    }
  }
}

test('qemuArgs takes memory and CPUs, and doubles commas in -drive paths', () => {
  const argv = qemuArgs({
    kind: 'qcow2',
    disk: '/tmp/a,b/overlay.qcow2',
    firmware: { type: 'bios' },
    accel: 'tcg',
    memoryMiB: 4096,
    smp: 4,
    seedIso: '/tmp/a,b/seed.iso',
  });
  assert.equal(values(argv, '-m'), ['4096']);
  assert.equal(values(argv, '-smp'), ['4']);
  assert.ok(values(argv, '-drive').includes('file=/tmp/a,,b/overlay.qcow2,if=virtio,format=qcow2'));
  assert.ok(values(argv, '-drive').includes('file=/tmp/a,,b/seed.iso,if=virtio,format=raw,readonly=on'));
});

for (const kind of ['iso', 'qcow2', 'pxe'] as const) {
  test(`qemuArgs ${kind} with Secure Boot: SMM, a secure flash, the code read-only in unit 0, the variables copy in unit 1`, () => {
    const argv = qemuArgs({
      kind,
      disk: kind === 'pxe' ? '/images/node.pxe' : '/tmp/b/disk',
      firmware: {
        type: 'uefi',
        code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
        vars: '/tmp/b/OVMF_VARS.fd',
        secureBoot: true,
      },
      accel: 'tcg',
    });
    assert.equal(values(argv, '-machine'), ['q35,smm=on']);
    assert.equal(values(argv, '-global'), [
      'driver=cfi.pflash01,property=secure,value=on',
      'ICH9-LPC.disable_s3=1',
    ]);
    assert.equal(
      values(argv, '-drive').filter((d) => d.startsWith('if=pflash')),
      [
        'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
        'if=pflash,format=raw,unit=1,file=/tmp/b/OVMF_VARS.fd',
      ],
    );
    assert.equal(values(argv, '-bios'), []);
  });
}

test('qemuArgs: Secure Boot code without its variables is a bug of the caller', () => {
  assert.throws(
    () =>
      qemuArgs({
        kind: 'iso',
        disk: '/images/live.iso',
        firmware: { type: 'uefi', code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', secureBoot: true },
        accel: 'tcg',
      }),
    (e: unknown) => e instanceof InternalError,
  );
});

test('firmwareOf: bios by default, --secure-boot means uefi and refuses --firmware bios', () => {
  assert.is(firmwareOf({}), 'bios');
  assert.is(firmwareOf({ firmware: 'uefi' }), 'uefi');
  assert.is(firmwareOf({ secureBoot: true }), 'uefi');
  assert.is(firmwareOf({ secureBoot: true, firmware: 'uefi' }), 'uefi');
  assert.is(firmwareOf({ secureBoot: false, firmware: 'bios' }), 'bios');
  assert.throws(
    () => firmwareOf({ secureBoot: true, firmware: 'bios' }),
    (e: unknown) =>
      e instanceof UserError && /--secure-boot/.test(e.message) && /--firmware bios/.test(e.message),
  );
});

test('findSecureBootFirmware: the 4M pair, else the 2 MB pair; code without its variables is no pair', () => {
  const SB4 = {
    code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
    vars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
  };
  const SB2 = { code: '/usr/share/OVMF/OVMF_CODE.secboot.fd', vars: '/usr/share/OVMF/OVMF_VARS.ms.fd' };
  const on = (...paths: string[]) => {
    const present = new Set(paths);
    return (p: string) => present.has(p);
  };
  assert.equal(
    findSecureBootFirmware(() => true),
    SB4,
  );
  assert.equal(findSecureBootFirmware(on(SB4.code, SB2.code, SB2.vars)), SB2);
  // the plain OVMF files are no Secure Boot firmware
  const plain = on(
    '/usr/share/ovmf/OVMF.fd',
    '/usr/share/OVMF/OVMF_CODE_4M.fd',
    '/usr/share/OVMF/OVMF_VARS_4M.fd',
  );
  for (const exists of [plain, on(SB4.code, SB2.code)]) {
    try {
      findSecureBootFirmware(exists);
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.instance(e, HostNotReadyError);
      assert.is(exitCodeFor(e), EXIT.hostNotReady);
      assert.match((e as UserError).message, /OVMF_CODE_4M\.secboot\.fd with .*OVMF_VARS_4M\.ms\.fd/);
      assert.match((e as UserError).hint ?? '', /apt-get install ovmf/);
    }
  }
});

test('findUefiFirmware prefers the combined OVMF.fd', () => {
  const fw = findUefiFirmware(() => true);
  assert.equal(fw, { code: '/usr/share/ovmf/OVMF.fd' });
});

test('findUefiFirmware falls back to the 4M code and a variables template', () => {
  const present = new Set(['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd']);
  assert.equal(
    findUefiFirmware((p) => present.has(p)),
    { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  );
});

test('findUefiFirmware skips code without its variables', () => {
  const present = new Set([
    '/usr/share/OVMF/OVMF_CODE_4M.fd',
    '/usr/share/OVMF/OVMF_CODE.fd',
    '/usr/share/OVMF/OVMF_VARS.fd',
  ]);
  assert.equal(findUefiFirmware((p) => present.has(p)).code, '/usr/share/OVMF/OVMF_CODE.fd');
});

test('findUefiFirmware without OVMF: a UserError saying to install ovmf', () => {
  try {
    findUefiFirmware(() => false);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as UserError).message, /OVMF/);
    assert.match((e as UserError).hint ?? '', /apt-get install ovmf/);
  }
});

test('detectImageKind reads the magic bytes, then the extension', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ib-native-test-'));
  try {
    const qcow = join(dir, 'disk.img');
    writeFileSync(
      qcow,
      Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(100)]),
    );
    assert.is(detectImageKind(qcow), 'qcow2');
    const iso = join(dir, 'live.bin');
    const isoBytes = Buffer.alloc(0x8800);
    isoBytes.write('\x01CD001\x01', 0x8000, 'latin1');
    writeFileSync(iso, isoBytes);
    assert.is(detectImageKind(iso), 'iso');
    const emptyIso = join(dir, 'empty.iso');
    writeFileSync(emptyIso, '');
    assert.is(detectImageKind(emptyIso), 'iso');
    const disks: [string, number, string, string][] = [
      ['node.img', 510, '\x55\xaa', 'raw'],
      ['gpt.bin', 512, 'EFI PART', 'raw'],
      ['node.vmdk', 0, 'KDMV', 'vmdk'],
      ['node.vhdx', 0, 'vhdxfile', 'vhdx'],
    ];
    for (const [name, at, magic, kind] of disks) {
      const b = Buffer.alloc(4096);
      b.write(magic, at, 'latin1');
      writeFileSync(join(dir, name), b);
      assert.is(detectImageKind(join(dir, name)), kind, name);
    }
    // a raw disk still empty: its extension
    writeFileSync(join(dir, 'empty.img'), '');
    assert.is(detectImageKind(join(dir, 'empty.img')), 'raw');
    const blank = join(dir, 'blank.bin');
    writeFileSync(blank, Buffer.alloc(4096));
    assert.throws(
      () => detectImageKind(blank),
      (e: unknown) => e instanceof UserError && /neither/.test(e.message),
    );
    assert.throws(
      () => detectImageKind(join(dir, 'absent.iso')),
      (e: unknown) => e instanceof UserError,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('createOverlay runs qemu-img create with the absolute backing image', async () => {
  const runner = recordingRunner();
  const overlay = await createOverlay(runner, '/images/node.qcow2', '/tmp/boot-x');
  assert.is(overlay, '/tmp/boot-x/overlay.qcow2');
  assert.equal(runner.calls, [
    [
      'qemu-img',
      'create',
      '-f',
      'qcow2',
      '-F',
      'qcow2',
      '-b',
      '/images/node.qcow2',
      '/tmp/boot-x/overlay.qcow2',
    ],
  ]);
  // a raw, VMDK or VHDX disk is the overlay's backing file in its own format
  await createOverlay(runner, '/images/node.vhdx', '/tmp/boot-y', 'vhdx');
  assert.equal(runner.calls[1]!.slice(4, 8), ['-F', 'vhdx', '-b', '/images/node.vhdx']);
  await createOverlay(runner, 'relative.qcow2', '/tmp').then(
    () => assert.unreachable('a relative backing path would be resolved against the overlay folder'),
    (e: Error) => assert.match(e.message, /absolute/),
  );
});

test.run();
