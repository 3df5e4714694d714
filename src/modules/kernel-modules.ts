import { type OpBody, ops } from '../ops/types.ts';
import { header, type Issue, singleLineIssues } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'kernelModules';

/**
 * Kernel modules: one /etc/modules-load.d file per module to load (with its options in
 * /etc/modprobe.d), and a blacklist that also makes the module unloadable by alias.
 */
export const kernelModulesModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const m = p.kernel?.modules;
    if (!m) return [];
    const bodies: OpBody[] = [];
    for (const mod of m.load ?? []) {
      bodies.push({
        kind: 'writeFile',
        path: `/etc/modules-load.d/99-${mod.name}.conf`,
        mode: '0644',
        content: `${header('kernel.modules.load')}${mod.name}\n`,
      });
      const args = Object.entries(mod.args ?? {});
      if (args.length)
        bodies.push({
          kind: 'writeFile',
          // modprobe reads its config files in name order and the last `options` line wins:
          // "zz-" sorts after the distro's own (systemd.conf sets e.g. numdummies=0, max_bonds=0)
          path: `/etc/modprobe.d/zz-ib-native-${mod.name}.conf`,
          mode: '0644',
          content: `${header('kernel.modules.load')}options ${mod.name} ${args.map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
        });
    }
    for (const name of m.blacklist ?? [])
      bodies.push({
        kind: 'writeFile',
        path: `/etc/modprobe.d/99-blacklist-${name}.conf`,
        mode: '0644',
        content: `${header('kernel.modules.blacklist')}blacklist ${name}\ninstall ${name} /bin/false\n`,
      });
    return ops(NAME, undefined, ...bodies);
  },
  validate(p) {
    const m = p.kernel?.modules;
    const issues: Issue[] = [];
    (m?.load ?? []).forEach((mod, i) => {
      if (m?.blacklist?.includes(mod.name))
        issues.push({
          path: `kernel.modules.load[${i}]`,
          message: `"${mod.name}" is also in kernel.modules.blacklist; keep it in one list`,
        });
      issues.push(
        ...singleLineIssues(
          Object.entries(mod.args ?? {}).map(([k, v]) => [`kernel.modules.load[${i}].args.${k}`, v]),
        ),
      );
      for (const [k, v] of Object.entries(mod.args ?? {}))
        if (typeof v === 'string' && /\s/.test(v))
          issues.push({
            path: `kernel.modules.load[${i}].args.${k}`,
            message: 'must not contain spaces (modprobe splits options on them)',
          });
    });
    return issues;
  },
};
