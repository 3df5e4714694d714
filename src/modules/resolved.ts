import { getDistro } from '../distro/index.ts';
import { type OpBody, ops } from '../ops/types.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'resolved';

export const RESOLVED_DROPIN = '/etc/systemd/system/systemd-resolved.service.d/override.conf';

/** Where /etc/resolv.conf points for each `resolved.resolvConf` choice (relative, as the packages make it). */
export const RESOLV_CONF_TARGETS = {
  stub: '../run/systemd/resolve/stub-resolv.conf',
  uplink: '../run/systemd/resolve/resolv.conf',
} as const;

/**
 * systemd-resolved as the image's resolver: the package where the distro ships it apart from systemd
 * (Debian 12), the unit enabled, /etc/resolv.conf a link to its stub (a node without it has no DNS
 * with systemd-networkd), and a StartLimitBurst drop-in (0 = restart it however often it fails early).
 */
export const resolvedModule: ConfigModule = {
  name: NAME,
  packages: (p) => (p.resolved ? [...getDistro(p.distro).resolvedPackages] : []),
  plan(p) {
    const r = p.resolved;
    if (!r) return [];
    const bodies: OpBody[] = [{ kind: 'unit', name: 'systemd-resolved.service', action: 'enable' }];
    const mode = r.resolvConf ?? 'stub';
    if (mode !== 'keep')
      bodies.push({ kind: 'symlink', path: '/etc/resolv.conf', target: RESOLV_CONF_TARGETS[mode] });
    if (r.startLimitBurst !== undefined)
      bodies.push({
        kind: 'writeFile',
        path: RESOLVED_DROPIN,
        mode: '0644',
        content: `${header('resolved')}[Unit]\nStartLimitBurst=${r.startLimitBurst}\n`,
      });
    return ops(NAME, undefined, ...bodies);
  },
};
