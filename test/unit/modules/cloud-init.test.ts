import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CLOUD_CFG_DIR,
  cloudInitModule,
  LIVE_CFG,
  MACHINE_ID_DROPIN,
} from '../../../src/modules/cloud-init.ts';
import { bodies, profile, withoutHeader, written } from './helpers.ts';

test('cloudInit: renderer override, ssh.socket masked, machine-id set up before cloud-init-local', () => {
  const ops = cloudInitModule.plan(
    profile({
      cloudInit: { renderers: ['netplan', 'eni', 'sysconfig'], maskSshSocket: true, machineIdSetup: true },
    }),
  );
  assert.is(
    withoutHeader(written(ops, `${CLOUD_CFG_DIR}/90_override_renderer.cfg`)),
    "system_info:\n  network:\n    renderers: ['netplan', 'eni', 'sysconfig']\n",
  );
  assert.ok(bodies(ops).some((b) => b.kind === 'unit' && b.name === 'ssh.socket' && b.action === 'mask'));
  assert.is(
    withoutHeader(written(ops, MACHINE_ID_DROPIN)),
    '[Service]\nExecStartPre=/bin/systemd-machine-id-setup\n',
  );
  assert.ok(ops.every((o) => o.module === 'cloudInit'));
});

test('cloudInit: datasources listed; switched-off parts write nothing', () => {
  const ops = cloudInitModule.plan(
    profile({ cloudInit: { datasources: ['ConfigDrive', 'None'], maskSshSocket: false } }),
  );
  assert.is(ops.filter((o) => o.contexts.includes('common')).length, 1);
  assert.is(
    withoutHeader(written(ops, `${CLOUD_CFG_DIR}/91_ib_native_datasources.cfg`)),
    'datasource_list: ["ConfigDrive", "None"]\n',
  );
  assert.equal(cloudInitModule.plan(profile({ packages: [] })), []);
});

test('cloudInit: live images do not grow or resize their root (an overlay in RAM); disks still do', () => {
  for (const p of [profile({ packages: ['cloud-init'] }), profile({ packages: [], cloudInit: {} })]) {
    const ops = cloudInitModule.plan(p);
    const live = ops.find((o) => o.kind === 'writeFile' && o.path === LIVE_CFG);
    assert.ok(live, 'no live cloud-init config');
    assert.equal(live!.contexts, ['live']);
    assert.is(withoutHeader(written(ops, LIVE_CFG)), 'growpart:\n  mode: "off"\nresize_rootfs: false\n');
  }
});

test.run();
