import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kvmProbeArgv, kvmProbeVerdict } from '../../../src/sys/kvm.ts';

test('kvmProbeArgv: the boot machine and CPU under KVM, paused, with a monitor to tell it to quit', () => {
  const argv = kvmProbeArgv();
  assert.is(argv[0], 'qemu-system-x86_64');
  const pairs: [string, string][] = [
    ['-machine', 'q35'],
    ['-accel', 'kvm'],
    ['-cpu', 'host'],
    ['-monitor', 'stdio'],
  ];
  for (const [flag, value] of pairs) assert.is(argv[argv.indexOf(flag) + 1], value, flag);
  assert.ok(argv.includes('-S'), 'the guest never runs');
});

test('kvmProbeVerdict: usable when QEMU quit as told; an abort names what QEMU said', () => {
  assert.equal(kvmProbeVerdict({ status: 0, signal: null, stderr: '' }), { usable: true });
  const nested = kvmProbeVerdict({
    status: null,
    signal: 'SIGABRT',
    stderr:
      "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n",
  });
  assert.is(nested.usable, false);
  assert.is(
    nested.why,
    'QEMU with KVM killed by SIGABRT: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69',
  );
  assert.equal(kvmProbeVerdict({ status: 1, signal: null, stderr: 'Could not access KVM kernel module' }), {
    usable: false,
    why: 'QEMU with KVM exit code 1: Could not access KVM kernel module',
  });
});

test.run();
