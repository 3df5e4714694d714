import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { cpuKubeletArgs } from './cpu.ts';
import { KUBERNETES_PACKAGES, kubePackageRequests } from './kubernetes.ts';
import { header, type Issue, singleLineIssues } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'kubelet';

export const KUBEADM_DROPIN = '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf';

const enabled = (p: ResolvedProfile) => p.kubelet !== undefined && p.kubelet.enabled !== false;

/** One ExecStart argument: systemd specifiers (%) and variables ($) escaped, quoted when it has spaces or quotes. */
export function systemdArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/[\\"]/g, (c) => `\\${c}`)}"` : escaped;
}

/** The kubelet's extra arguments: the profile's, plus those the cpu field derives; sorted by name. */
export function kubeletArgs(p: ResolvedProfile): [string, string][] {
  const args = { ...(p.kubelet?.extraArgs ?? {}), ...cpuKubeletArgs(p) };
  return Object.entries(args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The kubeadm drop-in for kubelet.service, with extra arguments as --name=value. */
export function renderKubeadmDropin(p: ResolvedProfile): string {
  const extra = kubeletArgs(p).map(([name, value]) => ` ${systemdArg(`--${name}=${value}`)}`);
  return `${header('kubelet')}[Unit]
StartLimitIntervalSec=0

[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# written by "kubeadm init" and "kubeadm join": sets KUBELET_KUBEADM_ARGS
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# the operator's last-resort overrides: KUBELET_EXTRA_ARGS
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS${extra.join('')}
CPUAffinity=${p.kubelet?.cpuAffinity ?? ''}
Restart=always
RestartSec=10
`;
}

/**
 * kubelet: the kubeadm drop-in and the service enabled. The packages come from kubernetes.version;
 * the deprecated `version` (an exact package version, with a repo of the profile's) still pins them.
 */
export const kubeletModule: ConfigModule = {
  name: NAME,
  packages(p) {
    const version = p.kubelet?.version;
    return enabled(p) && version !== undefined && !p.kubernetes
      ? KUBERNETES_PACKAGES.map((n) => `${n}=${version}`)
      : [];
  },
  plan(p) {
    if (!enabled(p)) return [];
    return ops(
      NAME,
      undefined,
      { kind: 'writeFile', path: KUBEADM_DROPIN, mode: '0644', content: renderKubeadmDropin(p) },
      { kind: 'unit', name: 'kubelet.service', action: 'enable' },
    );
  },
  validate(p) {
    if (!enabled(p)) return [];
    const k = p.kubelet!;
    const requests = kubePackageRequests(p);
    const issues: Issue[] = singleLineIssues(
      Object.entries(k.extraArgs ?? {}).map(([n, v]) => [`kubelet.extraArgs.${n}`, v]),
    );
    if (!p.kubernetes && k.version === undefined && !requests.some((r) => r.name === 'kubelet'))
      issues.push({
        path: 'kubelet',
        message:
          "is enabled but nothing installs the kubelet package; set kubernetes: { version: '1.31' } (or list kubelet in a repo's packages)",
      });
    for (const r of requests)
      if (!p.kubernetes && k.version !== undefined && r.pin !== undefined && r.pin !== k.version)
        issues.push({
          path: r.path,
          message: `pins ${r.name} to ${r.pin} but kubelet.version is ${k.version}`,
        });
    if (k.cpuAffinity !== undefined && !/^\d+(-\d+)?([ ,]\d+(-\d+)?)*$/.test(k.cpuAffinity))
      issues.push({ path: 'kubelet.cpuAffinity', message: 'must be a CPU list such as 0-3 or "0 1 2"' });
    return issues;
  },
};
