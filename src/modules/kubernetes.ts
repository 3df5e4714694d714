import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { KUBERNETES_VERSION, type Repo } from '../profile/schema.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'kubernetes';

/** The Kubernetes project's package host: one flat apt repo per minor version (from 1.24 on). */
export const PKGS_K8S_IO = 'https://pkgs.k8s.io/';
/**
 * Fingerprint of the key that signs every pkgs.k8s.io repo ("isv:kubernetes OBS Project
 * <isv:kubernetes@build.opensuse.org>", rsa2048, created 2022-08-25; its expiry has been extended,
 * the fingerprint stays). Each repo serves it as Release.key.
 */
export const PKGS_K8S_IO_FINGERPRINT = 'DE15B14486CD377B9E876E1A234654DA9A296436';
/** The first minor version pkgs.k8s.io has a repo for. */
export const PKGS_K8S_IO_FIRST_MINOR = 24;

/** The packages `kubernetes.version` installs and pins together. */
export const KUBERNETES_PACKAGES = ['kubelet', 'kubeadm', 'kubectl'] as const;
/** The repo the field adds (its sources file and key are named after it). */
export const KUBERNETES_REPO = 'kubernetes';
/** apt preferences that hold the packages to the version, during the install and in the image. */
export const KUBERNETES_PREFERENCES = '/etc/apt/preferences.d/ib-native-kubernetes';

/** Upstream apt repos that no longer serve packages. */
const RETIRED_HOSTS = ['apt.kubernetes.io', 'packages.cloud.google.com'];

export interface KubernetesVersion {
  /** 1.31 */
  minor: string;
  /** 1.31.2, when the profile asks for an exact patch. */
  patch?: string;
}

/** '1.31' or '1.31.2' (the profile grammar), else undefined (pure). */
export function parseKubernetesVersion(v: string): KubernetesVersion | undefined {
  const m = KUBERNETES_VERSION.exec(v);
  if (!m) return undefined;
  const minor = `1.${m[1]}`;
  return m[3] === undefined ? { minor } : { minor, patch: `${minor}.${m[3]}` };
}

/** The per-minor repo URL on pkgs.k8s.io or a mirror with its layout (pure). */
export function kubernetesRepoUrl(minor: string, mirror = PKGS_K8S_IO): string {
  return `${mirror.replace(/\/+$/, '')}/core:/stable:/v${minor}/deb/`;
}

/** The apt version glob of the pin: every patch of the minor, or every revision of the patch. */
export function kubernetesPinVersion(v: KubernetesVersion): string {
  return v.patch ? `${v.patch}-*` : `${v.minor}.*`;
}

/**
 * apt preferences: the packages only at the version (the first matching record decides, so every
 * other version of them gets -1 and a missing version fails the install instead of taking another).
 */
export function renderKubernetesPreferences(v: KubernetesVersion): string {
  const packages = `Package: ${KUBERNETES_PACKAGES.join(' ')}`;
  return `Explanation: ib-native: kubernetes.version ${v.patch ?? v.minor}
${packages}
Pin: version ${kubernetesPinVersion(v)}
Pin-Priority: 1001

Explanation: ib-native: no other version of them
${packages}
Pin: version *
Pin-Priority: -1
`;
}

const versionOf = (p: ResolvedProfile) =>
  p.kubernetes?.version === undefined ? undefined : parseKubernetesVersion(p.kubernetes.version);

/** The version's preferences file content, when the profile asks for Kubernetes (pure). */
export function kubernetesPreferences(p: ResolvedProfile): string | undefined {
  const v = versionOf(p);
  return v && renderKubernetesPreferences(v);
}

/**
 * The repo `kubernetes` stands for (pure): pkgs.k8s.io's (or the mirror's) flat repo of the
 * version's minor, signed by its Release.key checked against pkgs.k8s.io's fingerprint unless the
 * profile gives its own key, installing kubelet, kubeadm and kubectl.
 */
export function kubernetesRepo(p: ResolvedProfile): Repo | undefined {
  const v = versionOf(p);
  if (!v) return undefined;
  const url = kubernetesRepoUrl(v.minor, p.kubernetes?.mirror);
  return {
    name: KUBERNETES_REPO,
    url,
    suite: '/',
    key: p.kubernetes?.key ?? { url: `${url}Release.key`, fingerprint: PKGS_K8S_IO_FINGERPRINT },
    packages: [...KUBERNETES_PACKAGES],
  };
}

/** Where each Kubernetes package is requested by hand: the profile's packages and every repo's. */
export function kubePackageRequests(p: ResolvedProfile): { path: string; name: string; pin?: string }[] {
  const all = [
    ...p.packages.map((spec, j) => ({ path: `packages[${j}]`, spec })),
    ...(p.repos ?? []).flatMap((r, i) =>
      r.packages.map((spec, j) => ({ path: `repos[${i}].packages[${j}]`, spec })),
    ),
  ];
  return all
    .map(({ path, spec }) => {
      const [name = '', pin] = spec.split('=');
      return { path, name, pin };
    })
    .filter((r) => (KUBERNETES_PACKAGES as readonly string[]).includes(r.name));
}

function retiredRepoIssues(p: ResolvedProfile): Issue[] {
  return (p.repos ?? []).flatMap((r, i) => {
    const host = /^[a-z]+:\/\/([^/:]+)/.exec(r.url)?.[1];
    return host && RETIRED_HOSTS.includes(host)
      ? [
          {
            path: `repos[${i}].url`,
            message: `${host} was retired by the Kubernetes project and serves no packages; drop this repo and set kubernetes: { version: '1.31' } (pkgs.k8s.io), or point url at your own mirror`,
          },
        ]
      : [];
  });
}

function versionIssues(p: ResolvedProfile): Issue[] {
  const k = p.kubernetes;
  if (!k) return [];
  if (k.version === undefined)
    return [{ path: 'kubernetes.version', message: "is required when kubernetes is set, e.g. '1.31'" }];
  const v = parseKubernetesVersion(k.version);
  const issues: Issue[] = [];
  const minor = Number(v?.minor.split('.')[1]);
  if (k.mirror === undefined && minor < PKGS_K8S_IO_FIRST_MINOR)
    issues.push({
      path: 'kubernetes.version',
      message: `pkgs.k8s.io has repos from 1.${PKGS_K8S_IO_FIRST_MINOR} on, none for ${k.version}; choose a newer version, or give kubernetes.mirror (a mirror with that repo in the same layout)`,
    });
  if (p.kubelet?.version !== undefined)
    issues.push({
      path: 'kubelet.version',
      message: `kubernetes.version (${k.version}) pins kubelet, kubeadm and kubectl; drop kubelet.version (${p.kubelet.version})`,
    });
  for (const r of kubePackageRequests(p))
    issues.push({
      path: r.path,
      message: `${r.name} comes from kubernetes.version (${k.version}), pinned there; drop it here`,
    });
  (p.repos ?? []).forEach((r, i) => {
    if (r.name === KUBERNETES_REPO)
      issues.push({
        path: `repos[${i}].name`,
        message: `kubernetes.version adds the repo "${KUBERNETES_REPO}" (${kubernetesRepoUrl(v?.minor ?? '', k.mirror)}); drop this repo, or rename it if it serves something else`,
      });
  });
  return issues;
}

function legacyIssues(p: ResolvedProfile): Issue[] {
  const legacy = p.kubelet?.version;
  if (p.kubernetes || legacy === undefined || !parseKubernetesVersion(legacy)) return [];
  return [
    {
      path: 'kubelet.version',
      message: `"${legacy}" is a Kubernetes version, not a package version: write kubernetes: { version: '${legacy}' } instead (it picks the pkgs.k8s.io repo and pins kubelet, kubeadm and kubectl)`,
    },
  ];
}

/**
 * Kubernetes packages by version: the repo and packages reach the rootfs stage through
 * `kubernetesRepo` (see build.ts); this module keeps the version's apt preferences in the image
 * and checks that nothing else asks for the packages or for a retired repo.
 */
export const kubernetesModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const content = kubernetesPreferences(p);
    if (content === undefined) return [];
    return ops(NAME, undefined, { kind: 'writeFile', path: KUBERNETES_PREFERENCES, mode: '0644', content });
  },
  validate: (p) => [...versionIssues(p), ...legacyIssues(p), ...retiredRepoIssues(p)],
};
