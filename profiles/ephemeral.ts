/**
 * ephemeral: the live ISO that boots the ephemeral (bootstrap) node of an Airship deployment.
 *
 * base plus the Kubernetes node parts of worker.ts (kubelet, kubeadm, kubectl 1.31 from pkgs.k8s.io,
 * containerd from the distro, both enabled), built as an ISO only: the deployment runs `kubeadm
 * init` on this node, as with the original's ephemeral image. AppArmor profiles load on the live
 * system too (the apparmor module lifts apparmor.service's live-system condition in ISOs).
 *
 * The ISO's volume ID is config-2, so it doubles as an OpenStack config drive: the deployment adds
 * meta_data.json, user_data and network_data.json (the node's network comes from the site
 * manifests). The live kernel command line defaults to `boot=live quiet nomodeset overlay-size=70%
 * systemd.unified_cgroup_hierarchy=0 ds=ConfigDrive console=tty0 console=ttyS0`; set iso.cmdline to
 * change it.
 */
import { defineProfile } from 'ib-native';
import { kubernetesNode } from './worker.ts';

export default defineProfile({
  name: 'ephemeral',
  description: 'Ephemeral node live ISO (config-2 config drive): base + containerd + kubelet 1.31',
  extends: 'base',
  formats: ['iso'],
  ...kubernetesNode,
});
