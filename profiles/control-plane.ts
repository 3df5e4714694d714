/**
 * control-plane: a Kubernetes control-plane node QCOW2, base plus kubelet and containerd.
 *
 * It shares the Kubernetes parts with worker.ts (see that file for the version, the repo and its
 * key, containerd and the cgroup driver); kubeadm makes the node a control plane at deploy time.
 * Add what only your control-plane nodes need here, so worker images stay unaffected.
 */
import { defineProfile } from 'ib-native';
import { kubernetesNode } from './worker.ts';

export default defineProfile({
  name: 'control-plane',
  description: 'Kubernetes control-plane node (QCOW2): base + containerd + kubelet 1.31',
  extends: 'base',
  formats: ['qcow2'],
  ...kubernetesNode,
});
