import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { apparmorKernelArgs } from './apparmor.ts';
import { cpuKernelArgs } from './cpu.ts';
import { kdumpCrashkernel } from './kdump.ts';
import { header, kernelArg, shDoubleQuote } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'grub';

export const GRUB_DEFAULTS_FILE = '/etc/default/grub';

/** The live system's command line when the profile gives no iso.cmdline; the serial console is last, so it is /dev/console. */
export const DEFAULT_LIVE_CMDLINE: readonly string[] = [
  'boot=live',
  'quiet',
  'nomodeset',
  'overlay-size=70%',
  'systemd.unified_cgroup_hierarchy=0',
  'ds=ConfigDrive',
  'console=tty0',
  'console=ttyS0',
];

/** Parameters the kernel accepts several times: `console` (every one is an output), hugepage size/count pairs (order matters). */
const REPEATABLE = new Set(['console']);
const ORDERED_PAIRS = new Set(['hugepagesz', 'hugepages']);

const argKey = (token: string) => token.split('=')[0]!;

/** Drop earlier tokens with the same key (later wins); repeatable ones lose only exact repeats, pairs are kept as given. */
export function dedupeArgs(tokens: readonly string[]): string[] {
  const out: string[] = [];
  for (const token of tokens) {
    const key = argKey(token);
    if (!ORDERED_PAIRS.has(key)) {
      const i = out.findIndex((o) => (REPEATABLE.has(key) ? o === token : argKey(o) === key));
      if (i >= 0) out.splice(i, 1);
    }
    out.push(token);
  }
  return out;
}

/** Parameters every command line gets from the profile: kernel.cmdline, cpu, apparmor. */
function profileArgs(p: ResolvedProfile): string[] {
  return [
    ...Object.entries(p.kernel?.cmdline ?? {}).map(([name, value]) => kernelArg(name, value)),
    ...cpuKernelArgs(p),
    ...apparmorKernelArgs(p),
  ];
}

/** What /etc/default/grub carries; kdump's grub.d snippet adds crashkernel after it. */
function grubDefaultArgs(p: ResolvedProfile): string[] {
  return dedupeArgs([...(p.grub?.cmdline ?? []), ...profileArgs(p)]);
}

/** Kernel command line of the disk (QCOW2) image. */
export function diskCmdline(p: ResolvedProfile): string[] {
  const crash = kdumpCrashkernel(p);
  return dedupeArgs([...grubDefaultArgs(p), ...(crash ? [`crashkernel=${crash}`] : [])]);
}

/** Kernel command line of the live ISO. */
export function liveCmdline(p: ResolvedProfile): string[] {
  return dedupeArgs([...(p.iso?.cmdline ?? DEFAULT_LIVE_CMDLINE), ...profileArgs(p)]);
}

/** /etc/default/grub, read by update-grub on the deployed node (for example after a kernel upgrade). */
export function renderGrubDefaults(p: ResolvedProfile): string {
  const g = p.grub ?? {};
  const lines = [
    'GRUB_DEFAULT=0',
    'GRUB_TIMEOUT_STYLE=menu',
    ...(g.timeout !== undefined ? [`GRUB_TIMEOUT=${g.timeout}`] : []),
    'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`',
    `GRUB_CMDLINE_LINUX_DEFAULT=${shDoubleQuote(grubDefaultArgs(p).join(' '))}`,
    'GRUB_CMDLINE_LINUX=""',
    ...(g.terminal !== undefined ? [`GRUB_TERMINAL=${shDoubleQuote(g.terminal)}`] : []),
    ...(g.serialCommand !== undefined ? [`GRUB_SERIAL_COMMAND=${shDoubleQuote(g.serialCommand)}`] : []),
  ];
  return `${header('grub')}${lines.join('\n')}\n`;
}

/** grub defaults; like the original it applies to the shared tree and again to QCOW2 images. */
export const grubModule: ConfigModule = {
  name: NAME,
  plan(p) {
    if (!p.grub) return [];
    return ops(NAME, ['common', 'disk'], {
      kind: 'writeFile',
      path: GRUB_DEFAULTS_FILE,
      mode: '0644',
      content: renderGrubDefaults(p),
    });
  },
};
