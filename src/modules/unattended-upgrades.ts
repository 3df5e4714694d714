import { type OpBody, ops } from '../ops/types.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'unattendedUpgrades';

const TIMERS = ['apt-daily.timer', 'apt-daily-upgrade.timer'];

/** Constant script: the cron job may not exist (it comes with apt on some releases only). */
const DISABLE_APT_CRON =
  'if [ -e /etc/cron.daily/apt-compat ]; then chmod 0644 /etc/cron.daily/apt-compat; fi';

/**
 * No background apt on nodes: the apt-daily timers lose their enablement links and are masked
 * (a later package upgrade cannot re-enable a masked unit), and the daily cron job is made non-executable.
 */
export const unattendedUpgradesModule: ConfigModule = {
  name: NAME,
  plan(p) {
    if (!p.unattendedUpgrades?.disabled) return [];
    const bodies: OpBody[] = [
      ...TIMERS.map(
        (t): OpBody => ({ kind: 'remove', path: `/etc/systemd/system/timers.target.wants/${t}` }),
      ),
      ...TIMERS.map((t): OpBody => ({ kind: 'unit', name: t, action: 'mask' })),
      {
        kind: 'run',
        argv: ['/bin/sh', '-c', DISABLE_APT_CRON],
        description: 'make the apt-compat cron job non-executable',
      },
    ];
    return ops(NAME, undefined, ...bodies);
  },
};
