import { ops } from '../ops/types.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'resolved';

export const RESOLVED_DROPIN = '/etc/systemd/system/systemd-resolved.service.d/override.conf';

/** systemd-resolved drop-in: StartLimitBurst (0 = restart it however often it fails early in boot). */
export const resolvedModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const burst = p.resolved?.startLimitBurst;
    if (burst === undefined) return [];
    return ops(NAME, undefined, {
      kind: 'writeFile',
      path: RESOLVED_DROPIN,
      mode: '0644',
      content: `${header('resolved')}[Unit]\nStartLimitBurst=${burst}\n`,
    });
  },
};
