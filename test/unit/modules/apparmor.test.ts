import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  APPARMOR_LIVE_DROPIN,
  APPARMOR_LIVE_DROPIN_CONTENT,
  apparmorKernelArgs,
  apparmorModule,
} from '../../../src/modules/apparmor.ts';
import { bodies, profile } from './helpers.ts';

const PROFILE = '/usr/bin/foo {\n  /etc/foo r,\n}';

test('apparmor: service enabled, profile written then parsed without loading', () => {
  const p = profile({
    apparmor: { enabled: true, profiles: [{ name: 'usr.bin.foo', content: PROFILE, contexts: ['qcow2'] }] },
  });
  const ops = apparmorModule.plan(p);
  assert.equal(bodies(ops), [
    { kind: 'unit', name: 'apparmor.service', action: 'enable' },
    { kind: 'writeFile', path: APPARMOR_LIVE_DROPIN, mode: '0644', content: APPARMOR_LIVE_DROPIN_CONTENT },
    { kind: 'writeFile', path: '/etc/apparmor.d/usr.bin.foo', mode: '0644', content: `${PROFILE}\n` },
    {
      kind: 'run',
      argv: ['apparmor_parser', '-Q', '-K', '/etc/apparmor.d/usr.bin.foo'],
      description: 'check AppArmor profile usr.bin.foo parses',
    },
  ]);
  assert.equal(
    ops.map((o) => o.contexts),
    [['common'], ['live'], ['disk'], ['disk']],
  );
  assert.equal(apparmorModule.packages!(p), ['apparmor']);
  assert.equal(apparmorKernelArgs(p), ['apparmor=1', 'security=apparmor']);
});

test('apparmor: the live drop-in resets the unit conditions (live-boot and casper ones) and keeps ConditionSecurity', () => {
  assert.is(APPARMOR_LIVE_DROPIN, '/etc/systemd/system/apparmor.service.d/ib-native-live.conf');
  const lines = APPARMOR_LIVE_DROPIN_CONTENT.split('\n').filter((l) => l && !l.startsWith('#'));
  // an empty Condition assignment resets every condition of the unit; it must come first
  assert.equal(lines, ['[Unit]', 'ConditionPathExists=', 'ConditionSecurity=apparmor']);
  assert.equal(apparmorModule.plan(profile({ apparmor: { enabled: false } })), []);
});

test('apparmor: disabled turns it off on the command line; profiles then are an error', () => {
  const p = profile({ apparmor: { enabled: false, profiles: [{ name: 'x', content: PROFILE }] } });
  assert.equal(apparmorModule.plan(p), []);
  assert.equal(apparmorKernelArgs(p), ['apparmor=0']);
  assert.equal(
    apparmorModule.validate!(p).map((i) => i.path),
    ['apparmor.profiles'],
  );
  assert.equal(apparmorKernelArgs(profile()), []);
});

test.run();
