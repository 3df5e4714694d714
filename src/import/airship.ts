import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { computeLayout } from '../disk/layout.ts';
import { InternalError } from '../errors.ts';
import { issuesFromZod } from '../profile/load.ts';
import { type ResolvedProfile, resolveProfile } from '../profile/resolve.ts';
import { profileSchema } from '../profile/schema.ts';
import { combine, findManifests, readVars, renderProfileYaml } from './files.ts';
import { mapOsconfigVars } from './osconfig.ts';
import {
  asMapping,
  Collector,
  diskSizeOf,
  hasTemplate,
  isObj,
  keyedChange,
  listChange,
  type MapOptions,
  type MapResult,
  partedSizeOf,
  problemOf,
  resolveTemplates,
  show,
  strings,
  unknownKeys,
  type Vars,
} from './values.ts';

/**
 * Airship image-builder manifests -> ib-native profile fragments (pure).
 *
 * Facts of the original this relies on (airshipit/image-builder, image-builder/assets/playbooks/roles):
 * - each `*-vars.yaml` file replaces the role's variables of the same name wholesale (Ansible's default
 *   `hash_behaviour=replace`): `sysctl: [...]` is the whole sysctl list, not an addition. The only ways
 *   to add to a default are `ubuntu_packages_append`, `repos_append` (multistrap role),
 *   `grub_cmdline_linux_default_append` and `fetch_from_url_append` (osconfig role).
 *   A replaced list becomes additions plus `remove` entries against the inherited profile, an
 *   `_append` list plain additions (ib-native's extends appends lists and merges maps).
 * - the files are YAML 1.1 read by PyYAML (`yes`/`no` are booleans, `0755` is octal);
 * - multistrap defaults: Ubuntu focal from http://archive.ubuntu.com/ubuntu/ (focal, focal-updates,
 *   focal-security; main restricted universe) carrying `ubuntu_packages`, which holds
 *   `{{ kernel_base_pkg }}` (linux-image-generic) and `{{ kernel_headers_pkg }}` (linux-headers-generic);
 *   Docker and Kubernetes repos with `keyring_url`; `k8s_version` 1.21.2-00;
 * - qcow role: `qcow_capacity` goes to `qemu-img create`, `partitions` entries (`mount`, `mount_order`,
 *   `part_start`/`part_end` given to parted, `flags`, `filesystem.type`, `filesystem.fstab.{options,
 *   dump,fsck}`) are numbered in list order; `qcow_compress` picks `qemu-img convert -c`.
 * The osconfig role is mapped in osconfig.ts.
 */

export type { MapOptions, MapResult };
export { mapOsconfigVars };

// ---------------------------------------------------------------------------------------------
// multistrap-vars.yaml

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

// ---------------------------------------------------------------------------------------------
// qcow-vars.yaml

const QCOW_VARS = [
  'src',
  'dst',
  'nbd_build_dir',
  'img_output_dir',
  'img_name',
  'qcow_capacity',
  'qcow_compress',
  'partitions',
  'qcow_container_runtime_scripts',
];
const PARTITION_KEYS = ['mount', 'mount_order', 'part_start', 'part_end', 'flags', 'filesystem'];
const FLAGS = ['esp', 'bios_grub', 'boot', 'legacy_boot'];
const FILESYSTEMS = ['ext4', 'xfs', 'vfat'];

function partitionName(mount: string, flags: readonly string[], i: number): string {
  if (mount === '/') return 'root';
  if (mount === '/boot/efi') return 'efi';
  if (mount === 'none') return flags.includes('bios_grub') ? 'bios' : `part${i + 1}`;
  return (
    mount
      .split('/')
      .filter(Boolean)
      .join('-')
      .replace(/[^A-Za-z0-9_.@+-]/g, '-') || `part${i + 1}`
  );
}

function mapPartition(p: unknown, i: number, c: Collector): Vars | undefined {
  const at = `partitions[${i}]`;
  if (!isObj(p)) return void c.skip(at, `${show(p)} is not a partition mapping`);
  unknownKeys(p, PARTITION_KEYS, at, c, 'not a partition setting of the original qcow role');
  const mount = typeof p.mount === 'string' ? p.mount : undefined;
  if (!mount || (mount !== 'none' && !mount.startsWith('/')))
    return void c.skip(at, `mount ${show(p.mount)} is neither an absolute path nor none`);
  const start = partedSizeOf(p.part_start);
  const end = partedSizeOf(p.part_end);
  if (!start || !end)
    return void c.skip(
      at,
      `part_start ${show(p.part_start)} / part_end ${show(p.part_end)}: not a size ib-native can place`,
    );
  const flags: string[] = [];
  for (const f of Array.isArray(p.flags) ? p.flags : p.flags === undefined ? [] : [p.flags])
    if (FLAGS.includes(String(f))) flags.push(String(f));
    else c.skip(`${at}.flags`, `flag ${show(f)}: ib-native supports ${FLAGS.join(', ')}`);
  const part: Vars = { name: partitionName(mount, flags, i) };
  if (mount === 'none') {
    // the original makes and mounts no filesystem on a `mount: none` partition
    Object.assign(part, { filesystem: 'none', start, end, flags });
    return part;
  }
  const fs = isObj(p.filesystem) ? p.filesystem : {};
  unknownKeys(
    fs,
    ['type', 'fstab'],
    `${at}.filesystem`,
    c,
    'not a filesystem setting of the original qcow role',
  );
  if (!FILESYSTEMS.includes(String(fs.type)))
    return void c.skip(at, `filesystem type ${show(fs.type)}: ib-native makes ${FILESYSTEMS.join(', ')}`);
  Object.assign(part, { mountpoint: mount, filesystem: fs.type, start, end, flags });
  const fstab = isObj(fs.fstab) ? fs.fstab : {};
  unknownKeys(fstab, ['options', 'dump', 'fsck'], `${at}.filesystem.fstab`, c, 'not an fstab setting');
  if (typeof fstab.options === 'string') part.fstabOptions = fstab.options;
  if (fstab.dump !== undefined && Number(fstab.dump) !== 0)
    c.skip(`${at}.filesystem.fstab.dump`, `${show(fstab.dump)}: ib-native writes dump 0`);
  if (fstab.fsck !== undefined) part.fsckPass = Number(fstab.fsck);
  const problem = problemOf({ disk: { partitions: [part] } });
  if (problem) return void c.skip(at, problem);
  return part;
}

/** `mount_order` only has to mount parents before children, which is how ib-native mounts; flag orders that did not. */
function checkMountOrder(parts: unknown[], c: Collector): void {
  const mounts = parts
    .filter(isObj)
    .filter((p) => typeof p.mount === 'string' && p.mount !== 'none')
    .sort((a, b) => Number(a.mount_order ?? 0) - Number(b.mount_order ?? 0))
    .map((p) => String(p.mount));
  mounts.forEach((m, i) => {
    const parent = mounts.slice(i + 1).find((x) => x === '/' || m.startsWith(`${x}/`));
    if (parent)
      c.skip('partitions', `mount_order mounts ${m} before ${parent}; ib-native always mounts parents first`);
  });
}

export function mapQcowVars(obj: unknown, opts: MapOptions = {}): MapResult {
  const c = new Collector();
  const raw = asMapping(obj, c);
  if (!raw) return c.result();
  const v = resolveTemplates(raw, raw) as Vars;
  unknownKeys(v, QCOW_VARS, '', c, "not a variable of image-builder's qcow role, which ignores it");
  for (const k of ['src', 'dst', 'nbd_build_dir', 'img_output_dir'])
    if (v[k] !== undefined) c.skip(k, 'a build-internal path of the original; not applicable');
  if (v.img_name !== undefined)
    c.skip(
      'img_name',
      "image-builder's Makefile overrode it with <entry>.qcow2; ib-native names the image after the profile",
    );
  if (v.qcow_capacity !== undefined) {
    const size = diskSizeOf(v.qcow_capacity);
    if (size && !problemOf({ disk: { size } })) c.set('disk.size', size);
    else c.skip('qcow_capacity', `${show(v.qcow_capacity)} is not a size such as 19G`);
  }
  if (v.qcow_compress !== undefined) {
    if (typeof v.qcow_compress === 'boolean') c.set('qcow2.compress', v.qcow_compress);
    else c.skip('qcow_compress', `${show(v.qcow_compress)} is not true or false`);
  }
  if (v.qcow_container_runtime_scripts !== undefined)
    c.skip(
      'qcow_container_runtime_scripts',
      "declared by image-builder's qcow role but run by none of its tasks; to run such scripts, give them as user_scripts with run_contexts [qcow] (userScripts with contexts ['qcow2'])",
    );
  if (v.partitions !== undefined) {
    if (!Array.isArray(v.partitions)) c.skip('partitions', `${show(v.partitions)} is not a list`);
    else {
      checkMountOrder(v.partitions, c);
      let parts = v.partitions.map((p, i) => mapPartition(p, i, c)).filter((p): p is Vars => p !== undefined);
      const seen = new Set<string>();
      for (const p of parts) {
        let n = String(p.name);
        for (let k = 2; seen.has(n); k++) n = `${p.name}${k}`;
        p.name = n;
        seen.add(n);
      }
      const inherited = (opts.inherited?.disk?.partitions ?? []) as Vars[];
      let ch = keyedChange(parts, inherited, 'name');
      // partitions are numbered in list order; merging keeps inherited positions, so a new order needs new names
      if (ch.order.join() !== parts.map((p) => p.name).join()) {
        const taken = new Set(inherited.map((p) => String(p.name)));
        parts = parts.map((p, i) => {
          let n = `${p.name}-${i + 1}`;
          while (taken.has(n)) n = `${n}x`;
          return { ...p, name: n };
        });
        ch = keyedChange(parts, inherited, 'name');
      }
      if (ch.add.length) c.set('disk.partitions', ch.add);
      c.remove('disk.partitions', ch.remove);
    }
  }
  return c.result();
}

// ---------------------------------------------------------------------------------------------
// livecdcontent-vars.yaml (rootfs): the ISO's squashfs

const LIVECD_VARS = [
  'root_chroot',
  'root_image',
  'mksquashfs_compression',
  'mksquashfs_threads',
  'squashfs_timeout',
  'grub_menu_timeout',
];

export function mapLivecdcontentVars(obj: unknown): MapResult {
  const c = new Collector();
  const v = asMapping(obj, c);
  if (!v) return c.result();
  unknownKeys(
    v,
    LIVECD_VARS,
    '',
    c,
    "not a variable of image-builder's livecdcontent role, which ignores it",
  );
  for (const k of ['root_chroot', 'root_image'])
    if (v[k] !== undefined) c.skip(k, 'a build-internal path of the original; not applicable');
  if (v.mksquashfs_compression !== undefined) {
    if (problemOf({ iso: { compression: v.mksquashfs_compression } }))
      c.skip(
        'mksquashfs_compression',
        `${show(v.mksquashfs_compression)}: ib-native offers gzip, lz4, lzo, xz, zstd`,
      );
    else c.set('iso.compression', v.mksquashfs_compression);
  }
  // the default "{{ ansible_processor_vcpus }}" is ib-native's default too (one thread per CPU)
  const threads = v.mksquashfs_threads;
  if (threads !== undefined && !/ansible_processor_vcpus/.test(String(threads))) {
    if (Number.isInteger(Number(threads)) && Number(threads) > 0) c.set('iso.threads', Number(threads));
    else c.skip('mksquashfs_threads', `${show(threads)} is not a thread count`);
  }
  if (v.squashfs_timeout !== undefined)
    c.skip('squashfs_timeout', 'ib-native runs mksquashfs with its own timeout and retry policy');
  if (v.grub_menu_timeout !== undefined && Number(v.grub_menu_timeout) !== 0)
    c.skip('grub_menu_timeout', `${show(v.grub_menu_timeout)}: the ISO's boot menu timeout is fixed at 0`);
  return c.result();
}

// ---------------------------------------------------------------------------------------------
// importAirship: find the files, write one profile per image, check that each resolves

export interface ImportedProfile {
  name: string;
  /** The profile file written. */
  file: string;
  /** Manifest files it came from, relative to the manifests folder. */
  sources: string[];
  /** What could not be imported, each `<source file>: <variable path>: <reason>`. */
  unmapped: string[];
}

const profileName = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '') || 'image';

/** `extends` as written in a profile in `outDir`: a shipped name stays a name, a path becomes relative. */
function extendsRef(base: string, outDir: string): string {
  const isPath = base.includes('/') || /\.(ts|ya?ml|json)$/.test(base);
  if (!isPath) return base;
  const rel = path.relative(outDir, path.resolve(base));
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** Entries scoped to QCOW2 only (contexts ['qcow2']) in a fragment's lists. */
function qcowOnly(fragment: Vars): string[] {
  return Object.entries(fragment).flatMap(([field, v]) =>
    Array.isArray(v)
      ? v
          .filter((e) => isObj(e) && Array.isArray(e.contexts) && !e.contexts.includes('common'))
          .map((e) => `${field} ${String((e as Vars).path ?? (e as Vars).name)}`)
      : [],
  );
}

async function writeChecked(
  file: string,
  profile: Vars,
  header: (unmapped: readonly string[]) => string[],
  unmapped: string[],
): Promise<ResolvedProfile> {
  const parsed = profileSchema.safeParse(profile);
  if (!parsed.success)
    throw new InternalError(
      `import-airship built an invalid profile ${profile.name}: ${issuesFromZod(parsed.error.issues)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
    );
  writeFileSync(file, renderProfileYaml(profile, header(unmapped)));
  let resolved: ResolvedProfile;
  try {
    resolved = await resolveProfile(file);
  } catch (e) {
    throw new InternalError(`import-airship wrote ${file}, which does not resolve: ${(e as Error).message}`);
  }
  // the disk layout is checked at plan time; say now when the imported partitions will not place
  if (profile.disk) {
    const { issues } = computeLayout(resolved.disk?.size, resolved.disk?.partitions);
    if (issues.length) {
      unmapped.push(...issues.map((i) => `(disk layout): ${i.path}: ${i.message}`));
      writeFileSync(file, renderProfileYaml(profile, header(unmapped)));
    }
  }
  return resolved;
}

function headerFor(name: string, sources: readonly string[], notes: readonly string[]) {
  return (unmapped: readonly string[]) => [
    `${name}: imported from Airship image-builder manifests by \`ib-native import-airship\`.`,
    `Sources: ${sources.length ? sources.join(', ') : '(none)'}`,
    'A list the original replaced as a whole shows up as additions plus `remove` entries.',
    ...(unmapped.length || notes.length
      ? [
          `Not imported or different (${unmapped.length + notes.length}), review each:`,
          ...[...unmapped, ...notes].map((u) => `  - ${u}`),
        ]
      : ['Everything in the sources was imported.']),
  ];
}

/**
 * Read an image-builder manifests folder and write `airship-base.yaml` (the rootfs, extending `base`)
 * and one `<image>.yaml` per QCOW bundle entry (extending airship-base, formats [qcow2]) into `outDir`.
 * Each written profile is resolved to prove it loads. Bad input throws UserError before anything is written.
 */
export async function importAirship(dir: string, outDir: string, base = 'base'): Promise<ImportedProfile[]> {
  const m = findManifests(dir);
  const rel = (f: string) => path.relative(m.root, f);
  const read = (f: string | undefined) => (f ? readVars(f) : undefined);
  // read everything first: a syntax error anywhere writes nothing
  const rootVars = {
    multistrap: read(m.multistrap),
    osconfig: read(m.osconfig),
    livecd: read(m.livecdcontent),
  };
  const bundleVars = m.bundles.map((b) => ({ ...b, osVars: read(b.osconfig), qcowVars: read(b.qcow) }));
  const inheritedBase = await resolveProfile(base);
  mkdirSync(outDir, { recursive: true });
  const out = path.resolve(outDir);
  const results: ImportedProfile[] = [];

  // the shared rootfs -> airship-base
  const tag = (f: string | undefined, r: MapResult) => r.unmapped.map((u) => `${f ? rel(f) : '?'}: ${u}`);
  const ms = m.multistrap ? mapMultistrapVars(rootVars.multistrap, { inherited: inheritedBase }) : undefined;
  const os = m.osconfig
    ? mapOsconfigVars(rootVars.osconfig, { inherited: inheritedBase, scope: 'rootfs' })
    : undefined;
  const lc = m.livecdcontent ? mapLivecdcontentVars(rootVars.livecd) : undefined;
  const scripts = [
    ...m.scripts.common.map((f) => ({ f, contexts: undefined })),
    ...m.scripts.qcow.map((f) => ({ f, contexts: ['qcow2'] })),
  ].map(({ f, contexts }) => ({
    name: `scripts-${contexts ? 'qcow' : 'common'}-${path.basename(f).replace(/[^A-Za-z0-9_.@+-]/g, '-')}`,
    file: path.relative(out, f),
    ...(contexts && { contexts }),
  }));
  const unmappedBase = [
    ...tag(m.multistrap, ms ?? { profile: {}, unmapped: [] }),
    ...tag(m.osconfig, os ?? { profile: {}, unmapped: [] }),
    ...tag(m.livecdcontent, lc ?? { profile: {}, unmapped: [] }),
  ];
  const baseNotes: string[] = [];
  const installsKubelet = (inheritedBase.repos ?? []).some((r) =>
    r.packages.some((p) => p.startsWith('kubelet')),
  );
  if (!isObj(rootVars.multistrap) || rootVars.multistrap.repos === undefined)
    if (!installsKubelet)
      baseNotes.push(
        `(defaults): image-builder's default repos put docker-ce, docker-ce-cli, containerd.io and kubelet/kubeadm/kubectl 1.21.2-00 into every image and enabled kubelet; ${base} installs none of them (use --base worker or control-plane for Kubernetes nodes)`,
      );
  const baseFragment = combine(
    (ms?.profile ?? {}) as Vars,
    (os?.profile ?? {}) as Vars,
    (lc?.profile ?? {}) as Vars,
    scripts.length ? { userScripts: scripts } : {},
  );
  const baseSources = [m.multistrap, m.osconfig, m.livecdcontent, ...m.scripts.common, ...m.scripts.qcow]
    .filter((f): f is string => !!f)
    .map(rel);
  const baseFile = path.join(out, 'airship-base.yaml');
  const airshipBase = await writeChecked(
    baseFile,
    {
      name: 'airship-base',
      description: 'The shared image-builder rootfs (ISO and QCOW2 base), imported by import-airship',
      extends: extendsRef(base, out),
      ...baseFragment,
    },
    headerFor('airship-base', baseSources, baseNotes),
    unmappedBase,
  );
  results.push({
    name: 'airship-base',
    file: baseFile,
    sources: baseSources,
    unmapped: [...unmappedBase, ...baseNotes],
  });

  // each QCOW bundle entry -> <image>, extending airship-base
  const rootQcowOnly = qcowOnly(baseFragment);
  const rootGrub =
    isObj(baseFragment.grub) || Array.isArray((baseFragment.remove as Vars | undefined)?.['grub.cmdline']);
  const taken = new Set(['airship-base']);
  for (const b of bundleVars) {
    const clash = bundleVars.filter((x) => x.entry === b.entry).length > 1 && b.bundle !== 'qcow-bundle';
    let name = profileName(clash ? `${b.bundle.replace(/^qcow-bundle-?/, '')}-${b.entry}` : b.entry);
    while (taken.has(name)) name = `${name}-qcow`;
    taken.add(name);
    const osR = b.osconfig
      ? mapOsconfigVars(b.osVars, { inherited: airshipBase, scope: 'qcow-bundle', image: name })
      : undefined;
    const qR = b.qcow ? mapQcowVars(b.qcowVars, { inherited: airshipBase }) : undefined;
    const unmapped = [
      ...tag(b.osconfig, osR ?? { profile: {}, unmapped: [] }),
      ...tag(b.qcow, qR ?? { profile: {}, unmapped: [] }),
    ];
    const notes: string[] = [];
    // the bundle's osconfig-vars replaced the rootfs one while this QCOW was built (see osconfig.ts)
    if (b.osconfig && rootGrub)
      notes.push(
        `(rootfs grub): image-builder rendered this QCOW's /etc/default/grub from its own osconfig-vars only; here it inherits the grub settings of airship-base`,
      );
    if (b.osconfig && rootQcowOnly.length)
      notes.push(
        `(rootfs qcow entries): image-builder did not run ${rootQcowOnly.join(', ')} for this QCOW (its osconfig-vars replaced the rootfs one); here they are inherited from airship-base`,
      );
    const sources = [b.osconfig, b.qcow].filter((f): f is string => !!f).map(rel);
    const file = path.join(out, `${name}.yaml`);
    await writeChecked(
      file,
      {
        name,
        description: `QCOW2 image ${b.entry} of ${b.bundle}, imported by import-airship`,
        extends: './airship-base.yaml',
        formats: ['qcow2'],
        ...combine((osR?.profile ?? {}) as Vars, (qR?.profile ?? {}) as Vars),
      },
      headerFor(name, sources, notes),
      unmapped,
    );
    results.push({ name, file, sources, unmapped: [...unmapped, ...notes] });
  }
  return results;
}
