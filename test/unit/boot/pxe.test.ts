import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { detectImageKind, pxeNic, qemuArgs } from '../../../src/boot/qemu.ts';
import { InternalError, UserError } from '../../../src/errors.ts';

/** The value following a flag, for each occurrence. */
function values(argv: readonly string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

for (const firmware of [
  { type: 'bios' },
  { type: 'uefi', code: '/usr/share/ovmf/OVMF.fd' },
  { type: 'uefi', code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/tmp/b/OVMF_VARS.fd' },
] as const) {
  test(`qemuArgs pxe ${firmware.type}${'vars' in firmware ? ' split' : ''}: the folder over QEMU's TFTP, boot.ipxe as boot file, network boot`, () => {
    const argv = qemuArgs({ kind: 'pxe', disk: '/var/tmp/out/worker.pxe', firmware, accel: 'tcg' });
    assert.equal(values(argv, '-nic'), [
      'user,model=virtio-net-pci,tftp=/var/tmp/out/worker.pxe,bootfile=boot.ipxe',
    ]);
    assert.equal(values(argv, '-boot'), ['n']);
    // no disk: nothing is attached but the firmware's flash
    assert.equal(values(argv, '-cdrom'), []);
    assert.equal(
      values(argv, '-drive').filter((d) => !d.startsWith('if=pflash')),
      [],
    );
    // everything else as for the other kinds
    assert.equal(values(argv, '-serial'), ['stdio']);
    assert.ok(argv.includes('-no-reboot'));
    assert.equal(
      values(argv, '-bios'),
      firmware.type === 'uefi' && !('vars' in firmware) ? [firmware.code] : [],
    );
  });
}

test('pxeNic doubles commas in the folder and refuses a relative one', () => {
  assert.is(pxeNic('/tmp/a,b.pxe'), 'user,model=virtio-net-pci,tftp=/tmp/a,,b.pxe,bootfile=boot.ipxe');
  assert.throws(
    () => pxeNic('out/a.pxe'),
    (e: unknown) => e instanceof InternalError,
  );
});

test('detectImageKind: a folder with boot.ipxe is pxe; a folder without it is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ib-native-test-'));
  try {
    const pxe = join(dir, 'worker.pxe');
    mkdirSync(pxe);
    writeFileSync(join(pxe, 'boot.ipxe'), '#!ipxe\n');
    assert.is(detectImageKind(pxe), 'pxe');
    const other = join(dir, 'other');
    mkdirSync(other);
    try {
      detectImageKind(other);
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as UserError).message, /without boot\.ipxe/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
