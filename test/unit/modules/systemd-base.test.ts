import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemdBaseModule } from '../../../src/modules/systemd-base.ts';
import { bodies, profile } from './helpers.ts';

test('systemdBase: /sbin/init links to systemd; networkd and dispatcher enabled when asked', () => {
  const p = profile({ systemdBase: { networkd: true, networkdDispatcher: true } });
  assert.equal(bodies(systemdBaseModule.plan(p)), [
    { kind: 'symlink', path: '/sbin/init', target: '/lib/systemd/systemd' },
    { kind: 'unit', name: 'systemd-networkd.service', action: 'enable' },
    { kind: 'unit', name: 'networkd-dispatcher.service', action: 'enable' },
  ]);
  assert.equal(systemdBaseModule.packages!(p), ['networkd-dispatcher']);
});

test('systemdBase: only the init link when nothing else is asked; nothing when absent', () => {
  assert.equal(bodies(systemdBaseModule.plan(profile({ systemdBase: { networkd: false } }))).length, 1);
  assert.equal(systemdBaseModule.plan(profile()), []);
});

test.run();
