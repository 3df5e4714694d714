import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RESOLVED_DROPIN, resolvedModule } from '../../../src/modules/resolved.ts';
import { bodies, profile, withoutHeader, written } from './helpers.ts';

test('resolved: drop-in sets StartLimitBurst', () => {
  assert.is(
    withoutHeader(
      written(resolvedModule.plan(profile({ resolved: { startLimitBurst: 0 } })), RESOLVED_DROPIN),
    ),
    '[Unit]\nStartLimitBurst=0\n',
  );
  assert.is(written(resolvedModule.plan(profile({ resolved: {} })), RESOLVED_DROPIN), undefined);
});

test('resolved: enabled, /etc/resolv.conf links to the stub by default, the uplink list or nothing on request', () => {
  const link = (resolvConf?: 'stub' | 'uplink' | 'keep') =>
    bodies(resolvedModule.plan(profile({ resolved: resolvConf ? { resolvConf } : {} }))).find(
      (b) => b.kind === 'symlink',
    );
  assert.equal(link(), {
    kind: 'symlink',
    path: '/etc/resolv.conf',
    target: '../run/systemd/resolve/stub-resolv.conf',
  });
  assert.is(link('uplink')?.target, '../run/systemd/resolve/resolv.conf');
  assert.is(link('keep'), undefined);
  assert.ok(
    bodies(resolvedModule.plan(profile({ resolved: {} }))).some(
      (b) => b.kind === 'unit' && b.name === 'systemd-resolved.service' && b.action === 'enable',
    ),
  );
  assert.equal(resolvedModule.plan(profile({})), []);
});

test('resolved: the package where the distro ships it apart from systemd (bookworm), none on focal', () => {
  const pkgs = (distro: 'debian-bookworm' | 'ubuntu-focal') =>
    resolvedModule.packages?.(profile({ distro, resolved: {} }));
  assert.equal(pkgs('debian-bookworm'), ['systemd-resolved']);
  assert.equal(pkgs('ubuntu-focal'), []);
  assert.equal(resolvedModule.packages?.(profile({ distro: 'debian-bookworm' })), []);
});

test.run();
