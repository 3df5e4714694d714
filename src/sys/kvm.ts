import { spawnSync } from 'node:child_process';

/**
 * Whether KVM can run a machine here, asked of QEMU itself. `/dev/kvm` is not enough: some nested
 * hypervisors expose it but refuse the host CPU's registers, and QEMU aborts as it sets up the
 * vCPU (`failed to set MSR 0x10a`, SIGABRT), before any guest code runs.
 */

/** A paused machine (-S) with the boot's accelerator and CPU, told to quit through its monitor. Pure. */
export function kvmProbeArgv(qemu = 'qemu-system-x86_64'): string[] {
  return [
    qemu,
    ...['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '64', '-S'],
    ...['-nodefaults', '-display', 'none', '-serial', 'none', '-monitor', 'stdio'],
  ];
}

/** The probe's verdict from how QEMU ended (pure): usable only when it quit as told. */
export function kvmProbeVerdict(r: { status: number | null; signal: string | null; stderr?: string }): {
  usable: boolean;
  why?: string;
} {
  if (r.status === 0) return { usable: true };
  const said = (r.stderr ?? '').split('\n').find((l) => l.trim());
  const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`;
  return { usable: false, why: `QEMU with KVM ${how}${said ? `: ${said.trim()}` : ''}` };
}

let cached: { usable: boolean; why?: string } | undefined;

/**
 * Once per process: does QEMU start a machine under KVM? Only asked when /dev/kvm is there.
 * A QEMU that is missing or hangs counts as no (TCG still works where QEMU does).
 */
export function kvmUsable(): { usable: boolean; why?: string } {
  if (cached) return cached;
  const r = spawnSync(kvmProbeArgv()[0]!, kvmProbeArgv().slice(1), {
    input: 'quit\n',
    timeout: 10_000,
    encoding: 'utf8',
  });
  cached = r.error
    ? { usable: false, why: `QEMU could not be run to try KVM: ${r.error.message}` }
    : kvmProbeVerdict(r);
  return cached;
}
