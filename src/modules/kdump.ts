import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { header, type Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'kdump';

export const KDUMP_GRUB_SNIPPET = '/etc/default/grub.d/kdump-tools.cfg';

/** The crashkernel reservation, when kdump is on. */
export function kdumpCrashkernel(p: ResolvedProfile): string | undefined {
  const k = p.kdump;
  return k && k.enabled !== false ? k.crashkernel : undefined;
}

/** kdump-tools: reserve crash kernel memory by appending crashkernel= to grub's default command line. */
export const kdumpModule: ConfigModule = {
  name: NAME,
  packages: (p) => (p.kdump && p.kdump.enabled !== false ? ['kdump-tools'] : []),
  plan(p) {
    const crash = kdumpCrashkernel(p);
    if (!crash) return [];
    return ops(NAME, undefined, {
      kind: 'writeFile',
      path: KDUMP_GRUB_SNIPPET,
      mode: '0644',
      content: `${header('kdump.crashkernel')}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT crashkernel=${crash}"\n`,
    });
  },
  validate(p) {
    const k = p.kdump;
    if (!k || k.enabled === false) return [];
    const issues: Issue[] = [];
    if (k.crashkernel === undefined)
      issues.push({
        path: 'kdump.crashkernel',
        message: 'is required when kdump is enabled (for example "768M")',
      });
    else if (!/^[0-9A-Za-z:,@-]+$/.test(k.crashkernel))
      issues.push({
        path: 'kdump.crashkernel',
        message: 'must be a crashkernel value such as 768M or 512M-2G:64M,2G-:256M',
      });
    if (
      (p.grub?.cmdline ?? []).some((t) => t.startsWith('crashkernel=')) ||
      p.kernel?.cmdline?.crashkernel !== undefined
    )
      issues.push({
        path: 'kdump.crashkernel',
        message: 'crashkernel is also set on the kernel command line; set it in kdump.crashkernel only',
      });
    return issues;
  },
};
