import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BLOCKED_PREFERENCES,
  blockedPackageIssues,
  blockedPackagesModule,
} from '../../../src/modules/blocked-packages.ts';
import { profile, written } from './helpers.ts';

test('blockedPackages: one never-install pin per package, kept in the image', () => {
  const ops = blockedPackagesModule.plan(
    profile({ blockedPackages: ['unattended-upgrades', 'systemd-timesyncd'] }),
  );
  assert.is(
    written(ops, BLOCKED_PREFERENCES),
    [
      'Explanation: blocked by ib-native (profile field "blockedPackages")',
      'Package: unattended-upgrades',
      'Pin: origin *',
      'Pin-Priority: -1',
      '',
      'Explanation: blocked by ib-native (profile field "blockedPackages")',
      'Package: systemd-timesyncd',
      'Pin: origin *',
      'Pin-Priority: -1',
      '',
    ].join('\n'),
  );
  assert.equal(blockedPackagesModule.plan(profile()), []);
});

test('blockedPackages: a package both blocked and requested is an error', () => {
  const p = profile({ blockedPackages: ['systemd-timesyncd'] });
  assert.equal(blockedPackageIssues(p, ['curl', 'systemd-timesyncd=245.4']).length, 1);
  assert.equal(blockedPackageIssues(p, ['curl']), []);
});

test.run();
