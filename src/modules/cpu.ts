import type { ResolvedProfile } from '../profile/resolve.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'cpu';

/** Kernel command line for hugepages and CPU isolation (hugepagesz/hugepages pairs stay in order). */
export function cpuKernelArgs(p: ResolvedProfile): string[] {
  const c = p.cpu;
  if (!c) return [];
  const args: string[] = [];
  if (c.hugepages?.defaultSize) args.push(`default_hugepagesz=${c.hugepages.defaultSize}`);
  for (const page of c.hugepages?.pages ?? [])
    args.push(`hugepagesz=${page.size}`, `hugepages=${page.count}`);
  if (c.isolcpus) args.push(`isolcpus=${c.isolcpus}`);
  if (c.nohzFull) args.push(`nohz_full=${c.nohzFull}`);
  if (c.rcuNocbs) args.push(`rcu_nocbs=${c.rcuNocbs}`);
  return args;
}

/** Extra kubelet arguments derived from the cpu field. */
export function cpuKubeletArgs(p: ResolvedProfile): Record<string, string> {
  const reserved = p.cpu?.kubeletReservedCpus;
  return reserved ? { 'reserved-cpus': reserved } : {};
}

/** Expand a CPU list such as "0-3,8" (undefined when a range runs backwards). */
export function parseCpuList(list: string): number[] | undefined {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    if (b < a) return undefined;
    for (let n = a; n <= b; n++) cpus.push(n);
  }
  return cpus;
}

function cpuListIssues(p: ResolvedProfile): Issue[] {
  const c = p.cpu ?? {};
  const issues: Issue[] = [];
  const lists = {
    isolcpus: c.isolcpus,
    nohzFull: c.nohzFull,
    rcuNocbs: c.rcuNocbs,
    kubeletReservedCpus: c.kubeletReservedCpus,
  };
  const parsed: Record<string, number[]> = {};
  for (const [field, list] of Object.entries(lists)) {
    if (list === undefined) continue;
    const cpus = parseCpuList(list);
    if (cpus) parsed[field] = cpus;
    else issues.push({ path: `cpu.${field}`, message: `"${list}" has a range that runs backwards` });
  }
  const reserved = new Set(parsed.kubeletReservedCpus ?? []);
  const shared = (parsed.isolcpus ?? []).filter((n) => reserved.has(n));
  if (shared.length)
    issues.push({
      path: 'cpu.isolcpus',
      message: `isolates CPUs ${shared.join(',')} that cpu.kubeletReservedCpus reserves for system daemons; keep the two lists apart`,
    });
  return issues;
}

/** The kernel parameters and kubelet argument the cpu field sets must not be set elsewhere too. */
function ownershipIssues(p: ResolvedProfile): Issue[] {
  const derived = new Set(cpuKernelArgs(p).map((a) => a.split('=')[0]!));
  const issues: Issue[] = [];
  const elsewhere: [string, string[]][] = [
    ['grub.cmdline', (p.grub?.cmdline ?? []).map((t) => t.split('=')[0]!)],
    ['kernel.cmdline', Object.keys(p.kernel?.cmdline ?? {})],
  ];
  for (const [field, keys] of elsewhere)
    for (const key of keys)
      if (derived.has(key))
        issues.push({
          path: field,
          message: `sets ${key}, which the cpu field also sets; set it in cpu only`,
        });
  const sizes = (p.cpu?.hugepages?.pages ?? []).map((pg) => pg.size);
  if (new Set(sizes).size !== sizes.length)
    issues.push({ path: 'cpu.hugepages.pages', message: 'lists a page size twice; give one entry per size' });
  const reserved = p.cpu?.kubeletReservedCpus;
  if (reserved !== undefined) {
    if (!p.kubelet || p.kubelet.enabled === false)
      issues.push({
        path: 'cpu.kubeletReservedCpus',
        message: 'is set but kubelet is not enabled (set kubelet.enabled: true)',
      });
    const explicit = p.kubelet?.extraArgs?.['reserved-cpus'];
    if (explicit !== undefined && explicit !== reserved)
      issues.push({
        path: 'kubelet.extraArgs.reserved-cpus',
        message: `is "${explicit}" but cpu.kubeletReservedCpus is "${reserved}"; set it in cpu.kubeletReservedCpus only`,
      });
  }
  return issues;
}

/**
 * CPU pinning and hugepages. No files of its own: its kernel parameters reach the command lines
 * through ./grub.ts, its kubelet argument through ./kubelet.ts; this module checks they make sense.
 */
export const cpuModule: ConfigModule = {
  name: NAME,
  plan: () => [],
  validate: (p) => (p.cpu ? [...cpuListIssues(p), ...ownershipIssues(p)] : []),
};
