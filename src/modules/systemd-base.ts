import { type OpBody, ops } from '../ops/types.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'systemdBase';

/** systemd as init (/sbin/init), and the network daemons the original enables. */
export const systemdBaseModule: ConfigModule = {
  name: NAME,
  packages: (p) => (p.systemdBase?.networkdDispatcher ? ['networkd-dispatcher'] : []),
  plan(p) {
    const s = p.systemdBase;
    if (!s) return [];
    const bodies: OpBody[] = [{ kind: 'symlink', path: '/sbin/init', target: '/lib/systemd/systemd' }];
    if (s.networkd) bodies.push({ kind: 'unit', name: 'systemd-networkd.service', action: 'enable' });
    if (s.networkdDispatcher)
      bodies.push({ kind: 'unit', name: 'networkd-dispatcher.service', action: 'enable' });
    return ops(NAME, undefined, ...bodies);
  },
};
