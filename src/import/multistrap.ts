// Over 300 lines: one mapper of the original's multistrap/rootfs manifests; its field tables read best together.
import {
  asMapping,
  Collector,
  hasTemplate,
  isObj,
  keyedChange,
  listChange,
  type MapOptions,
  type MapResult,
  problemOf,
  resolveTemplates,
  show,
  strings,
  unknownKeys,
  type Vars,
} from './values.ts';

/**
 * multistrap-vars.yaml (Airship image-builder's multistrap role) -> profile fragment (pure).
 *
 * Facts of the original (roles/multistrap/{defaults,tasks,templates}):
 * - defaults: Ubuntu focal from http://archive.ubuntu.com/ubuntu/ (focal, focal-updates, focal-security;
 *   main restricted universe; `keyring_pkg: ubuntu-keyring`) carrying `packages: "{{ ubuntu_packages }}"`,
 *   whose list holds `{{ kernel_base_pkg }}` (linux-image-generic) and `{{ kernel_headers_pkg }}`
 *   (linux-headers-generic); Docker (docker-ce, docker-ce-cli, containerd.io) and Kubernetes
 *   (kubelet/kubeadm/kubectl=`{{ k8s_version }}`, 1.21.2-00) repos whose keys come from `keyring_url`;
 *   `unapproved_packages` unattended-upgrades and systemd-timesyncd;
 * - `ubuntu_packages_append` and `repos_append` are added to the lists by set_fact, so a repo's
 *   `"{{ ubuntu_packages }}"` includes the append; repo entries are `name, packages, source, suite,
 *   components (one string), keyring_pkg | keyring_url, omitdebsrc, register_repo_with_rootfs`;
 * - `repos_append` is how a site adds a third-party repo (its README's example: a vendor's utilities repo
 *   with suite focal and components "main restricted universe"), so suite and components say nothing
 *   about a repo being Ubuntu's: its source does;
 * - `k8s_version` (`1.21.2-00`, a Debian version of apt.kubernetes.io) pins kubelet, kubeadm and kubectl
 *   in the Kubernetes repo; its profiles/k8s-1.18 etc. set only this variable;
 * - `systemd_nic_names_policy`, `systemd_nic_alternative_names_policy` fill 99-default.link;
 *   `multistrap_retries`/`_delay` retry multistrap; `rootfs_root` is the build folder.
 */

const MULTISTRAP_DEFAULTS: Vars = {
  k8s_version: '1.21.2-00',
  kernel_base_pkg: 'linux-image-generic',
  kernel_headers_pkg: 'linux-headers-generic',
  rootfs_arch: 'amd64',
};
const MULTISTRAP_VARS = [
  'rootfs_root',
  'rootfs_arch',
  'k8s_version',
  'kernel_base_pkg',
  'kernel_headers_pkg',
  'systemd_nic_names_policy',
  'systemd_nic_alternative_names_policy',
  'multistrap_retries',
  'multistrap_retries_delay',
  'ubuntu_packages',
  'ubuntu_packages_append',
  'unapproved_packages',
  'repos',
  'repos_append',
];
const REPO_KEYS = [
  'name',
  'packages',
  'source',
  'suite',
  'components',
  'keyring_pkg',
  'keyring_url',
  'omitdebsrc',
  'register_repo_with_rootfs',
];
const UBUNTU_MIRROR = 'http://archive.ubuntu.com/ubuntu';
/** Ubuntu's own archive hosts (the default mirror, the security pocket, country mirrors). */
const UBUNTU_ARCHIVE = /^https?:\/\/([a-z]{2}\.)?(archive|security)\.ubuntu\.com\/ubuntu\/*$/;
/** The Kubernetes project's apt hosts: the retired apt.kubernetes.io (and its Google backend) and pkgs.k8s.io. */
const KUBERNETES_SOURCE =
  /^https?:\/\/(apt\.kubernetes\.io|packages\.cloud\.google\.com|pkgs\.k8s\.io)(\/|$)/;
const KUBERNETES_PACKAGES = ['kubelet', 'kubeadm', 'kubectl'];
const UBUNTU_SUITES = ['focal', 'focal-updates', 'focal-security'];
const UBUNTU_COMPONENTS = ['main', 'restricted', 'universe', 'multiverse'];
/** The distro repo's `packages: "{{ ubuntu_packages }}"`, kept unevaluated: it means ubuntu_packages plus its append. */
const UBUNTU_PACKAGES_REF = /^\{\{\s*ubuntu_packages\s*\}\}$/;

const repoName = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9_.@+-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '') || 'repo';
const noSlash = (u: string) => u.replace(/\/+$/, '');

/**
 * `k8s_version` or a kubelet pin as the `kubernetes.version` of a profile: the Kubernetes release
 * (`1.21.2-00` -> `1.21.2`), the Debian revision dropped (pkgs.k8s.io numbers its packages anew).
 */
export function kubernetesVersionOf(v: unknown): string | undefined {
  const m = /^v?(\d+\.\d+(?:\.\d+)?)(?:-[0-9A-Za-z.+~]+)?$/.exec(String(v ?? '').trim());
  return typeof v === 'string' || typeof v === 'number' ? m?.[1] : undefined;
}

/** The first Kubernetes release with packages on pkgs.k8s.io, which replaced apt.kubernetes.io. */
const FIRST_PKGS_K8S_IO_MINOR = 24;

interface DistroRepo {
  suite: string;
  source: string;
  /** undefined: the repo carries `{{ ubuntu_packages }}` */
  packages?: string[];
}

/** The distro mirror of a `repos` list: the source of its first Ubuntu-shaped focal repo. */
function mirrorOf(repos: unknown): string | undefined {
  if (!Array.isArray(repos)) return undefined;
  const focal = repos.find(
    (r) =>
      isObj(r) &&
      r.suite === 'focal' &&
      typeof r.source === 'string' &&
      String(r.components ?? 'main')
        .split(/\s+/)
        .filter(Boolean)
        .every((x) => UBUNTU_COMPONENTS.includes(x)),
  ) as Vars | undefined;
  return focal ? noSlash(String(focal.source)) : undefined;
}

interface RepoMapping {
  distro?: DistroRepo;
  extra?: Vars;
  /** A Kubernetes project repo: the kubelet/kubeadm/kubectl version it pinned, if any. */
  kubernetes?: { version?: string };
}

function mapKubernetesRepo(r: Vars, path: string, c: Collector): RepoMapping {
  const pkgs = strings(r.packages, `${path}.packages`, c);
  const pins = new Set(
    pkgs.filter((p) => KUBERNETES_PACKAGES.includes(p.replace(/=.*$/, ''))).map((p) => /=(.*)$/.exec(p)?.[1]),
  );
  for (const p of pkgs.filter((x) => !KUBERNETES_PACKAGES.includes(x.replace(/=.*$/, ''))))
    c.skip(
      `${path}.packages`,
      `${show(p)}: kubernetes.version installs kubelet, kubeadm and kubectl only; add other packages by hand`,
    );
  if (pins.size > 1) {
    c.skip(path, `pins ${[...pins].map(show).join(', ')}: kubelet, kubeadm and kubectl need one version`);
    return { kubernetes: {} };
  }
  const pin = [...pins][0];
  const version = pin === undefined ? undefined : kubernetesVersionOf(pin);
  if (pin !== undefined && !version)
    c.skip(path, `${show(pin)} is not a Kubernetes version such as 1.21.2-00`);
  if (pin === undefined && pkgs.length)
    c.skip(path, 'installs Kubernetes unpinned: set kubernetes.version to the release you want');
  // the repo itself is not kept: kubernetes.version picks the Kubernetes project's repo and its key
  return { kubernetes: version ? { version } : {} };
}

function mapRepo(
  r: unknown,
  path: string,
  c: Collector,
  replacing: boolean,
  mirror: string,
): RepoMapping | undefined {
  if (!isObj(r)) return void c.skip(path, `${show(r)} is not a repo mapping`);
  unknownKeys(r, REPO_KEYS, path, c, 'not a repo setting ib-native can express');
  const name = typeof r.name === 'string' ? r.name : undefined;
  const source = typeof r.source === 'string' ? r.source : undefined;
  const suite = typeof r.suite === 'string' ? r.suite : undefined;
  if (!name || !source || !suite) return void c.skip(path, 'a repo needs name, source and suite');
  const components = String(r.components ?? 'main')
    .split(/\s+/)
    .filter(Boolean);
  if (r.register_repo_with_rootfs === false)
    c.skip(
      `${path}.register_repo_with_rootfs`,
      'ib-native keeps every repo it installs from registered in the image',
    );
  // a repo is Ubuntu's by its source; a third-party repo may well use suite focal and Ubuntu's components
  const fromUbuntu = UBUNTU_ARCHIVE.test(source) || noSlash(source) === mirror;
  const ubuntuLike =
    fromUbuntu && suite.startsWith('focal') && components.every((x) => UBUNTU_COMPONENTS.includes(x));
  if (KUBERNETES_SOURCE.test(source)) return mapKubernetesRepo(r, path, c);
  if (ubuntuLike) {
    if (!replacing)
      return void c.skip(
        path,
        'an added Ubuntu repo: ib-native has one distro mirror (replace it with `repos`)',
      );
    if (!UBUNTU_SUITES.includes(suite))
      return void c.skip(
        path,
        `suite ${suite}: ib-native uses the distro suites ${UBUNTU_SUITES.join(', ')} only`,
      );
    if ([...components].sort().join(' ') !== 'main restricted universe')
      c.skip(`${path}.components`, `${show(r.components)}: ib-native uses main restricted universe`);
    const ref = typeof r.packages === 'string' && UBUNTU_PACKAGES_REF.test(r.packages);
    return {
      distro: {
        suite,
        source: noSlash(source),
        packages: ref ? undefined : strings(r.packages, `${path}.packages`, c, (p) => ({ packages: [p] })),
      },
    };
  }
  const id = repoName(name);
  // ib-native reads every repo key from a file next to the profile (src/stages/rootfs.ts copies it)
  const keyUrl = typeof r.keyring_url === 'string' ? r.keyring_url : undefined;
  const keyFile = `./keys/${id}.${keyUrl?.endsWith('.gpg') ? 'gpg' : 'asc'}`;
  if (keyUrl)
    c.skip(
      `${path}.keyring_url`,
      `download ${keyUrl} to ${keyFile.slice(2)} next to the profile (ib-native reads repo keys from files)`,
    );
  else if (r.keyring_pkg !== undefined)
    c.skip(
      `${path}.keyring_pkg`,
      `ib-native cannot take a repo key from a package (${show(r.keyring_pkg)}): put the repo's signing key in ${keyFile.slice(2)} next to the profile`,
    );
  else c.skip(path, `no key given: put the repo's signing key in ${keyFile.slice(2)} next to the profile`);
  const repo: Vars = {
    name: id,
    url: source,
    suite,
    components,
    key: keyFile,
    packages: strings(r.packages, `${path}.packages`, c, (p) => ({ packages: [p] })),
  };
  const problem = problemOf({ repos: [repo] });
  if (problem) return void c.skip(path, problem);
  return { extra: repo };
}

export function mapMultistrapVars(obj: unknown, opts: MapOptions = {}): MapResult {
  const c = new Collector();
  const raw = asMapping(obj, c);
  if (!raw) return c.result();
  const inh = opts.inherited ?? {};
  const { ubuntu_packages: _u, ...templateVars } = raw;
  const vars = { ...MULTISTRAP_DEFAULTS, ...templateVars };
  const v = resolveTemplates(raw, vars) as Vars;
  unknownKeys(
    v,
    MULTISTRAP_VARS,
    '',
    c,
    "not a variable of image-builder's multistrap role, which ignores it",
  );

  if (v.rootfs_root !== undefined)
    c.skip('rootfs_root', 'a build-internal path of the original; ib-native keeps its trees in its cache');
  if (v.rootfs_arch !== undefined && v.rootfs_arch !== 'amd64')
    c.skip('rootfs_arch', `${show(v.rootfs_arch)}: ib-native builds amd64 images only`);
  for (const k of ['multistrap_retries', 'multistrap_retries_delay'])
    if (v[k] !== undefined) c.skip(k, 'ib-native retries mirrors with its own fixed policy');
  for (const [k, field] of [
    ['systemd_nic_names_policy', 'namePolicy'],
    ['systemd_nic_alternative_names_policy', 'alternativeNamesPolicy'],
  ] as const)
    if (v[k] !== undefined) {
      if (typeof v[k] === 'string' && !hasTemplate(v[k])) c.set(`nicNaming.${field}`, v[k]);
      else c.skip(k, `${show(v[k])} is not a policy string`);
    }
  const kernelImage = String(vars.kernel_base_pkg);
  if (kernelImage !== MULTISTRAP_DEFAULTS.kernel_base_pkg)
    c.skip(
      'kernel_base_pkg',
      `${show(kernelImage)}: ib-native installs the distro's kernel (linux-image-generic on ubuntu-focal); the schema's kernel.packages is not used by the build`,
    );

  // the distro's packages: ubuntu_packages (+ _append) unless repos replaces the Ubuntu repo's list
  const append = strings(v.ubuntu_packages_append, 'ubuntu_packages_append', c, (p) => ({ packages: [p] }));
  const own =
    v.ubuntu_packages !== undefined
      ? strings(v.ubuntu_packages, 'ubuntu_packages', c, (p) => ({ packages: [p] }))
      : undefined;
  const ubuntuPackages = [...(own ?? inh.packages ?? []), ...append];
  const replaceRepos = v.repos !== undefined;
  const mirror = (replaceRepos ? mirrorOf(v.repos) : undefined) ?? UBUNTU_MIRROR;
  const distro: DistroRepo[] = [];
  const extra: Vars[] = [];
  const kubernetesRepos: { version?: string }[] = [];
  for (const [field, list] of [
    ['repos', v.repos],
    ['repos_append', v.repos_append],
  ] as const) {
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      c.skip(field, `${show(list)} is not a list`);
      continue;
    }
    for (const [i, r] of list.entries()) {
      const m = mapRepo(r, `${field}[${i}]`, c, field === 'repos', mirror);
      if (m?.distro) distro.push(m.distro);
      if (m?.extra) extra.push(m.extra);
      if (m?.kubernetes) kubernetesRepos.push(m.kubernetes);
    }
  }
  const focal = distro.find((d) => d.suite === 'focal');
  if (replaceRepos && !focal)
    c.skip(
      'repos',
      'has no Ubuntu focal repo; ib-native always installs from the distro (set distro/mirror instead)',
    );
  if (replaceRepos)
    for (const s of UBUNTU_SUITES.slice(1))
      if (!distro.some((d) => d.suite === s)) c.skip('repos', `has no ${s} repo; ib-native always adds it`);
  if (focal && focal.source !== UBUNTU_MIRROR) {
    if (problemOf({ mirror: focal.source })) c.skip('repos', `${show(focal.source)} is not a mirror URL`);
    else c.set('mirror', focal.source);
  }
  const carriesList = distro.some((d) => d.packages === undefined);
  if (replaceRepos && !carriesList)
    for (const k of ['ubuntu_packages', 'ubuntu_packages_append'])
      if (v[k] !== undefined)
        c.skip(
          k,
          'no repo in `repos` carries "{{ ubuntu_packages }}", so image-builder installed none of these',
        );
  for (const d of distro)
    if (focal && d !== focal && d.source !== focal.source)
      c.skip('repos', `${d.suite} comes from ${d.source}, not the focal mirror; ib-native uses one mirror`);

  let desired: string[] | undefined;
  if (replaceRepos && focal)
    desired = distro.flatMap((d) => d.packages ?? (d.suite === 'focal' ? ubuntuPackages : []));
  else if (!replaceRepos && (own !== undefined || append.length)) desired = ubuntuPackages;
  const headers = String(vars.kernel_headers_pkg);
  if (headers !== MULTISTRAP_DEFAULTS.kernel_headers_pkg)
    desired = [...(desired ?? inh.packages ?? []), headers];
  if (desired) {
    // the kernel comes from the distro; like `base`, leave the default headers out (DKMS adds them)
    const drop = [kernelImage, MULTISTRAP_DEFAULTS.kernel_headers_pkg as string];
    const ch = listChange(
      desired.filter((p) => !drop.includes(p)),
      inh.packages,
      'packages',
    );
    if (ch.add.length) c.set('packages', ch.add);
    c.remove('packages', ch.remove);
  }
  if (extra.length || replaceRepos) {
    const ch = keyedChange(extra, inh.repos as Vars[] | undefined, 'name');
    if (ch.add.length) c.set('repos', ch.add);
    if (replaceRepos) c.remove('repos', ch.remove);
  }
  if (v.unapproved_packages !== undefined) {
    const blocked = strings(v.unapproved_packages, 'unapproved_packages', c, (p) => ({
      blockedPackages: [p],
    }));
    const ch = listChange(blocked, inh.blockedPackages, 'packages');
    if (ch.add.length) c.set('blockedPackages', ch.add);
    c.remove('blockedPackages', ch.remove);
  }
  mapKubernetes(raw, v, replaceRepos, kubernetesRepos, c);
  return c.result();
}

/**
 * Kubernetes: the version the original installed becomes `kubernetes.version` (which picks the
 * Kubernetes project's repo and pins kubelet, kubeadm and kubectl), never a pin against the
 * inherited profile's own repo. From the Kubernetes repo's pins when `repos`/`repos_append` carry
 * one, else from `k8s_version` (which the default Kubernetes repo pins to).
 */
function mapKubernetes(
  raw: Vars,
  v: Vars,
  replaceRepos: boolean,
  repos: readonly { version?: string }[],
  c: Collector,
): void {
  const pinned = [...new Set(repos.flatMap((r) => (r.version ? [r.version] : [])))];
  let version: string | undefined;
  if (pinned.length > 1) c.skip('repos', `Kubernetes repos pin ${pinned.join(' and ')}: give one version`);
  else if (pinned.length === 1) version = pinned[0];
  else if (raw.k8s_version !== undefined) {
    // with `repos` replaced, only a repo that pins {{ k8s_version }} used it
    const used = !replaceRepos || repos.length > 0;
    version = kubernetesVersionOf(v.k8s_version);
    if (!version)
      c.skip('k8s_version', `${show(v.k8s_version)} is not a Kubernetes version such as 1.21.2-00`);
    else if (!used) {
      c.skip('k8s_version', 'no repo in `repos` installs Kubernetes, so image-builder used it nowhere');
      version = undefined;
    }
  }
  if (!version) return;
  c.set('kubernetes.version', version);
  if (Number(version.split('.')[1]) < FIRST_PKGS_K8S_IO_MINOR)
    c.skip(
      raw.k8s_version !== undefined ? 'k8s_version' : 'repos',
      `Kubernetes ${version} predates the pkgs.k8s.io repositories (they start at 1.${FIRST_PKGS_K8S_IO_MINOR}) and apt.kubernetes.io is retired: pick a current release`,
    );
}
