import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unattendedUpgradesModule } from '../../../src/modules/unattended-upgrades.ts';
import { bodies, profile } from './helpers.ts';

test('unattendedUpgrades: timers unlinked and masked, apt-compat cron made non-executable if present', () => {
  const b = bodies(unattendedUpgradesModule.plan(profile({ unattendedUpgrades: { disabled: true } })));
  assert.equal(b.slice(0, 4), [
    { kind: 'remove', path: '/etc/systemd/system/timers.target.wants/apt-daily.timer' },
    { kind: 'remove', path: '/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer' },
    { kind: 'unit', name: 'apt-daily.timer', action: 'mask' },
    { kind: 'unit', name: 'apt-daily-upgrade.timer', action: 'mask' },
  ]);
  const run = b[4] as { kind: string; argv: string[] };
  assert.is(run.kind, 'run');
  assert.equal(run.argv.slice(0, 2), ['/bin/sh', '-c']);
  assert.match(
    run.argv[2]!,
    /^if \[ -e \/etc\/cron.daily\/apt-compat \]; then chmod 0644 \/etc\/cron.daily\/apt-compat; fi$/,
  );
});

test('unattendedUpgrades: nothing unless disabled', () => {
  assert.equal(unattendedUpgradesModule.plan(profile({ unattendedUpgrades: { disabled: false } })), []);
  assert.equal(unattendedUpgradesModule.plan(profile()), []);
});

test.run();
