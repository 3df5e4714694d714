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

interface DistroRepo {
  suite: string;
  source: string;
  /** undefined: the repo carries `{{ ubuntu_packages }}` */
  packages?: string[];
}

function mapRepo(
  r: unknown,
  path: string,
  c: Collector,
  replacing: boolean,
): { distro?: DistroRepo; extra?: Vars } | undefined {
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
  const ubuntuLike = suite.startsWith('focal') && components.every((x) => UBUNTU_COMPONENTS.includes(x));
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
  const distro: DistroRepo[] = [];
  const extra: Vars[] = [];
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
      const m = mapRepo(r, `${field}[${i}]`, c, field === 'repos');
      if (m?.distro) distro.push(m.distro);
      if (m?.extra) extra.push(m.extra);
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
  if (v.k8s_version !== undefined) {
    const used = JSON.stringify([
      raw.repos,
      raw.repos_append,
      raw.ubuntu_packages,
      raw.ubuntu_packages_append,
    ]).includes('k8s_version');
    if (inh.kubelet) c.set('kubelet.version', String(v.k8s_version));
    else if (!used)
      c.skip(
        'k8s_version',
        'the inherited profile installs no Kubernetes packages (use --base worker or control-plane, which pin them with kubelet.version)',
      );
  }
  return c.result();
}
