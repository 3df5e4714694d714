import { type OpBody, ops } from '../ops/types.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'cloudInit';

export const CLOUD_CFG_DIR = '/etc/cloud/cloud.cfg.d';
export const MACHINE_ID_DROPIN = '/etc/systemd/system/cloud-init-local.service.d/ib-native-machine-id.conf';
/** Whether the image runs cloud-init: in the package list, or configured by the profile. */
export const hasCloudInit = (p: { packages: readonly string[]; cloudInit?: unknown }): boolean =>
  p.packages.includes('cloud-init') || p.cloudInit !== undefined;

/** Live images only: their root is an overlay in RAM, nothing to grow or resize. */
export const LIVE_CFG = `${CLOUD_CFG_DIR}/93_ib_native_live.cfg`;

/**
 * cloud-init: preferred network renderers, the datasource list, ssh.socket masked (so cloud-init can
 * configure sshd without socket activation getting in the way), and a machine-id set up before
 * cloud-init-local runs (the image ships an empty /etc/machine-id).
 */
export const cloudInitModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const c = p.cloudInit;
    // a live root (overlay over squashfs) has no partition to grow: cloud-init's growpart and
    // resizefs would end the first boot "degraded" (Device '/dev/overlay' did not exist)
    const live = hasCloudInit(p)
      ? ops(NAME, ['live'], {
          kind: 'writeFile',
          path: LIVE_CFG,
          mode: '0644',
          content: `${header('cloudInit (live images)')}growpart:\n  mode: "off"\nresize_rootfs: false\n`,
        })
      : [];
    if (!c) return live;
    const bodies: OpBody[] = [];
    if (c.renderers?.length)
      bodies.push({
        kind: 'writeFile',
        path: `${CLOUD_CFG_DIR}/90_override_renderer.cfg`,
        mode: '0644',
        content: `${header('cloudInit.renderers')}system_info:\n  network:\n    renderers: [${c.renderers.map((r) => `'${r}'`).join(', ')}]\n`,
      });
    if (c.datasources?.length)
      bodies.push({
        kind: 'writeFile',
        path: `${CLOUD_CFG_DIR}/91_ib_native_datasources.cfg`,
        mode: '0644',
        content: `${header('cloudInit.datasources')}datasource_list: [${c.datasources.map((d) => JSON.stringify(d)).join(', ')}]\n`,
      });
    if (c.maskSshSocket) bodies.push({ kind: 'unit', name: 'ssh.socket', action: 'mask' });
    if (c.machineIdSetup)
      bodies.push({
        kind: 'writeFile',
        path: MACHINE_ID_DROPIN,
        mode: '0644',
        content: `${header('cloudInit.machineIdSetup')}[Service]\nExecStartPre=/bin/systemd-machine-id-setup\n`,
      });
    return [...ops(NAME, undefined, ...bodies), ...live];
  },
};
