/**
 * worker: a Kubernetes node QCOW2 (the original's "data-plane" image), base plus kubelet and containerd.
 *
 * Kubernetes 1.21.2 from the Kubernetes apt repo, containerd.io from Docker's repo (as the original
 * did; docker-ce itself is not needed with containerd as the runtime: add "docker-ce" and
 * "docker-ce-cli" to the docker repo's packages if you want them).
 *
 * Before building, put each repo's signing key in profiles/keys/ (see profiles/keys/README.md);
 * `ib-native plan --profile worker` says which key is missing.
 * The legacy repo apt.kubernetes.io, which holds the 1.21 packages, was frozen and then retired
 * upstream: point `url` at your mirror of it. Docker's repo is for Ubuntu focal: change `url` and
 * `suite` with the distro.
 * containerd uses the systemd cgroup driver: set `cgroupDriver: systemd` in the KubeletConfiguration
 * you give kubeadm (kubeadm before 1.22 defaults to cgroupfs).
 */
import { defineProfile, type ProfileInput } from 'ib-native';

const KUBERNETES_VERSION = '1.21.2-00';

/** What every Kubernetes node image shares; control-plane.ts uses it too. */
export const kubernetesNode = {
  formats: ['qcow2'],
  repos: [
    {
      name: 'kubernetes',
      url: 'https://apt.kubernetes.io/',
      suite: 'kubernetes-xenial',
      components: ['main'],
      key: './keys/kubernetes.asc',
      packages: ['kubelet', 'kubeadm', 'kubectl'].map((p) => `${p}=${KUBERNETES_VERSION}`),
    },
    {
      name: 'docker',
      url: 'https://download.docker.com/linux/ubuntu',
      suite: 'focal',
      components: ['stable'],
      key: './keys/docker.asc',
      packages: ['containerd.io'],
    },
  ],
  containerd: {
    enabled: true,
    package: 'containerd.io',
    systemdCgroup: true,
    sandboxImage: 'k8s.gcr.io/pause:3.4.1',
  },
  kubelet: { enabled: true, version: KUBERNETES_VERSION },
} satisfies Omit<ProfileInput, 'name'>;

export default defineProfile({
  name: 'worker',
  description: 'Kubernetes worker node (QCOW2): base + containerd + kubelet 1.21',
  extends: 'base',
  ...kubernetesNode,
});
