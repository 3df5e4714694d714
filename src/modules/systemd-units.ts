import { type OpBody, ops } from '../ops/types.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'systemd';

/** User systemd units: content written to /etc/systemd/system, then enabled/disabled and masked/unmasked as asked. */
export const systemdUnitsModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.systemd ?? []).flatMap((u) => {
      const bodies: OpBody[] = [];
      if (u.content !== undefined)
        bodies.push({
          kind: 'writeFile',
          path: `/etc/systemd/system/${u.name}`,
          mode: '0644',
          content: u.content,
        });
      if (u.masked === false) bodies.push({ kind: 'unit', name: u.name, action: 'unmask' });
      if (u.enabled !== undefined)
        bodies.push({ kind: 'unit', name: u.name, action: u.enabled ? 'enable' : 'disable' });
      if (u.masked === true) bodies.push({ kind: 'unit', name: u.name, action: 'mask' });
      return ops(NAME, u.contexts, ...bodies);
    });
  },
  validate(p) {
    const issues: Issue[] = [];
    (p.systemd ?? []).forEach((u, i) => {
      if (u.masked && u.enabled)
        issues.push({ path: `systemd[${i}]`, message: `${u.name} cannot be both enabled and masked` });
      if (u.masked && u.content !== undefined)
        issues.push({
          path: `systemd[${i}].masked`,
          message: `masking ${u.name} replaces /etc/systemd/system/${u.name}, so its content would be lost; drop one`,
        });
      if (u.content === undefined && u.enabled === undefined && u.masked === undefined)
        issues.push({
          path: `systemd[${i}]`,
          message: `does nothing with ${u.name}; give content, enabled or masked`,
        });
    });
    return issues;
  },
};
