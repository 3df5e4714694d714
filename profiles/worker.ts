/**
 * worker: a Kubernetes node QCOW2 (the original's "data-plane" image), base plus kubelet and containerd.
 *
 * Kubernetes 1.31 (the newest patch) from the Kubernetes project's apt repo for that minor,
 * https://pkgs.k8s.io/core:/stable:/v1.31/deb/ (a flat repo); its Release.key is downloaded at build
 * time and used only if its fingerprint is pkgs.k8s.io's (DE15 B144 86CD 377B 9E87 6E1A 2346 54DA
 * 9A29 6436). kubelet, kubeadm and kubectl are pinned to the version in the image's apt preferences.
 * Set `kubernetes.version` to another minor ('1.30') or an exact patch ('1.31.2'), and
 * `kubernetes.mirror` to a mirror of pkgs.k8s.io with the same layout.
 *
 * containerd comes from the distro (Ubuntu 20.04 focal-updates: 1.7; Debian 12: 1.6). Docker's
 * containerd.io is an option, not a requirement: add Docker's repo and set `containerd.package`,
 * as in examples/worker-docker-containerd.yaml.
 * containerd uses the systemd cgroup driver, kubeadm's default since 1.22.
 */
import { defineProfile, type ProfileInput } from 'ib-native';

/** What every Kubernetes node image shares; control-plane.ts and ephemeral.ts use it too. */
export const kubernetesNode = {
  kubernetes: { version: '1.31' },
  containerd: {
    enabled: true,
    package: 'containerd',
    systemdCgroup: true,
    sandboxImage: 'registry.k8s.io/pause:3.10',
  },
  kubelet: { enabled: true },
} satisfies Omit<ProfileInput, 'name'>;

export default defineProfile({
  name: 'worker',
  description: 'Kubernetes worker node (QCOW2): base + containerd + kubelet 1.31',
  extends: 'base',
  formats: ['qcow2'],
  ...kubernetesNode,
});
