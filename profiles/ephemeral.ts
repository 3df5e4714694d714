/**
 * ephemeral: the live ISO that boots the ephemeral (bootstrap) node of an Airship deployment.
 *
 * base as it is, built as an ISO only. The ISO's volume ID is config-2, so it doubles as an
 * OpenStack config drive: the deployment adds meta_data.json, user_data and network_data.json
 * (the node's network comes from the site manifests). The live kernel command line defaults to
 * `boot=live quiet nomodeset overlay-size=70% systemd.unified_cgroup_hierarchy=0 ds=ConfigDrive
 * console=tty0 console=ttyS0`; set iso.cmdline to change it.
 */
import { defineProfile } from 'ib-native';

export default defineProfile({
  name: 'ephemeral',
  description: 'Ephemeral node live ISO (config-2 config drive): base as an ISO',
  extends: 'base',
  formats: ['iso'],
});
