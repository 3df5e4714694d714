import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { computeLayout } from '../disk/layout.ts';
import { InternalError } from '../errors.ts';
import { issuesFromZod } from '../profile/load.ts';
import { type ResolvedProfile, resolveProfile } from '../profile/resolve.ts';
import { profileSchema } from '../profile/schema.ts';
import { combine, findManifests, type IsoInputs, readVars, renderProfileYaml } from './files.ts';
import { configDriveArgs, mapIsoInputs } from './iso.ts';
import { mapMultistrapVars } from './multistrap.ts';
import { mapOsconfigVars } from './osconfig.ts';
import { mapLivecdcontentVars, mapQcowVars } from './qcow.ts';
import { isObj, type MapOptions, type MapResult, type Vars } from './values.ts';

/**
 * Import Airship image-builder manifests as ib-native profiles.
 *
 * The mappers are pure: `mapMultistrapVars`, `mapOsconfigVars`, `mapQcowVars` (and
 * `mapLivecdcontentVars`) turn one vars file into `{ profile, unmapped }`, where `unmapped` lists
 * every value that cannot be expressed, as `<variable path>: <reason>`. `importAirship` finds the
 * files, writes the profiles and checks that each resolves.
 *
 * Facts of the original this relies on (airshipit/image-builder, image-builder/assets/playbooks/roles):
 * - each `*-vars.yaml` file replaces the role's variables of the same name wholesale (Ansible's default
 *   `hash_behaviour=replace`): `sysctl: [...]` is the whole sysctl list, not an addition. The only ways
 *   to add to a default are `ubuntu_packages_append`, `repos_append` (multistrap role),
 *   `grub_cmdline_linux_default_append` and `fetch_from_url_append` (osconfig role).
 *   A replaced list becomes additions plus `remove` entries against the inherited profile, an
 *   `_append` list plain additions (ib-native's extends appends lists and merges maps);
 * - the files are YAML 1.1 read by PyYAML (`yes`/`no` are booleans, `0755` is octal);
 * - the Makefile copies rootfs/*-vars.yaml into the roles to build the shared rootfs (ISO and QCOW
 *   base), then builds one QCOW per qcow-bundle*\/<entry>/ folder with its qcow-vars.yaml and its
 *   osconfig-vars.yaml *appended* to the rootfs one (the container's entrypoint `cat >>` it onto the
 *   role's vars file, and the last of two equal keys wins): each variable the bundle file sets replaces
 *   the rootfs value, the others keep it. The image is named <entry>.qcow2;
 * - scripts/ is copied into the shared rootfs (/config/scripts): scripts/common ran while it was built,
 *   scripts/qcow in every QCOW build, whatever the bundle's osconfig-vars said;
 * - iso/ holds the test ISO's user_data and network_data.json (see iso.ts).
 */

export type { MapOptions, MapResult };
export { mapLivecdcontentVars, mapMultistrapVars, mapOsconfigVars, mapQcowVars };

export interface ImportedProfile {
  name: string;
  /** The profile file written. */
  file: string;
  /** Manifest files it came from, relative to the manifests folder. */
  sources: string[];
  /** What could not be imported, each `<source file>: <variable path>: <reason>`. */
  unmapped: string[];
  /**
   * airship-base only, when the manifests have an iso/ folder: `ib-native build` arguments putting
   * its files (written to `<out>/iso/`) on the ISO's config drive, e.g. `--user-data <out>/iso/user_data`.
   */
  configDriveArgs?: string[];
}

/**
 * `kubernetes` (kubernetes.version, which picks the Kubernetes repo and pins kubelet, kubeadm and
 * kubectl) comes with branch h-k8s; until this schema has it, a mapped version is reported instead
 * of written. Remove this guard once the field is merged.
 */
function withoutUnknownKubernetes(fragment: Vars, notes: string[]): Vars {
  if ('kubernetes' in profileSchema.shape || !isObj(fragment.kubernetes)) return fragment;
  const { kubernetes, ...rest } = fragment;
  notes.push(
    `(kubernetes): k8s_version maps to kubernetes.version ${String(kubernetes.version)}, a field this ib-native does not have yet`,
  );
  return rest;
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

function headerFor(name: string, sources: readonly string[], notes: readonly string[], extra: string[] = []) {
  return (unmapped: readonly string[]) => [
    `${name}: imported from Airship image-builder manifests by \`ib-native import-airship\`.`,
    `Sources: ${sources.length ? sources.join(', ') : '(none)'}`,
    'A list the original replaced as a whole shows up as additions plus `remove` entries.',
    ...extra,
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
  const isoKeys = Object.keys(m.iso) as (keyof IsoInputs)[];
  const iso = mapIsoInputs(
    Object.fromEntries(isoKeys.map((k) => [k, readFileSync(m.iso[k]!, 'utf8')])),
    Object.fromEntries(isoKeys.map((k) => [k, rel(m.iso[k]!)])),
  );
  const inheritedBase = await resolveProfile(base);
  mkdirSync(outDir, { recursive: true });
  const out = path.resolve(outDir);
  const results: ImportedProfile[] = [];
  const isoDir = path.join(out, 'iso');
  if (iso.files.length) mkdirSync(isoDir, { recursive: true });
  // user_data often holds passwords and keys
  for (const f of iso.files)
    writeFileSync(path.join(isoDir, f.name), f.content, { mode: f.input === 'userData' ? 0o600 : 0o644 });

  // the shared rootfs -> airship-base
  const tag = (f: string | undefined, r: MapResult) => r.unmapped.map((u) => `${f ? rel(f) : '?'}: ${u}`);
  const ms = m.multistrap ? mapMultistrapVars(rootVars.multistrap, { inherited: inheritedBase }) : undefined;
  const os = m.osconfig
    ? mapOsconfigVars(rootVars.osconfig, { inherited: inheritedBase, scope: 'rootfs' })
    : undefined;
  const lc = m.livecdcontent ? mapLivecdcontentVars(rootVars.livecd) : undefined;
  // scripts/common ran while the shared rootfs was built, scripts/qcow (copied into it) for every QCOW
  const scripts = [
    ...m.scripts.common.map((f) => ({ f, contexts: undefined })),
    ...m.scripts.qcow.map((f) => ({ f, contexts: ['disk'] })),
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
  const baseNotes: string[] = [...iso.notes];
  const installsKubelet =
    (inheritedBase as { kubernetes?: unknown }).kubernetes !== undefined ||
    (inheritedBase.repos ?? []).some((r) => r.packages.some((p) => p.startsWith('kubelet')));
  if (!isObj(rootVars.multistrap) || rootVars.multistrap.repos === undefined)
    if (!installsKubelet)
      baseNotes.push(
        `(defaults): image-builder's default repos put docker-ce, docker-ce-cli, containerd.io and kubelet/kubeadm/kubectl 1.21.2-00 into every image and enabled kubelet; ${base} installs none of them (use --base worker or control-plane for Kubernetes nodes)`,
      );
  const baseFragment = withoutUnknownKubernetes(
    combine(
      (ms?.profile ?? {}) as Vars,
      (os?.profile ?? {}) as Vars,
      (lc?.profile ?? {}) as Vars,
      scripts.length ? { userScripts: scripts } : {},
    ),
    baseNotes,
  );
  const baseSources = [
    m.multistrap,
    m.osconfig,
    m.livecdcontent,
    ...m.scripts.common,
    ...m.scripts.qcow,
    ...Object.values(m.iso),
  ]
    .filter((f): f is string => !!f)
    .map(rel);
  const baseFile = path.join(out, 'airship-base.yaml');
  const driveArgs = configDriveArgs(iso.files, isoDir);
  const isoHeader = iso.files.length
    ? [
        "The ISO with the original's iso/ folder on its config drive (build arguments; run in this folder):",
        `  ib-native build --profile airship-base.yaml --format iso ${configDriveArgs(iso.files, 'iso').join(' ')}`,
      ]
    : [];
  const airshipBase = await writeChecked(
    baseFile,
    {
      name: 'airship-base',
      description: 'The shared image-builder rootfs (ISO and QCOW2 base), imported by import-airship',
      extends: extendsRef(base, out),
      ...baseFragment,
    },
    headerFor('airship-base', baseSources, baseNotes, isoHeader),
    unmappedBase,
  );
  results.push({
    name: 'airship-base',
    file: baseFile,
    sources: baseSources,
    unmapped: [...unmappedBase, ...baseNotes],
    ...(iso.files.length && { configDriveArgs: driveArgs }),
  });

  // each QCOW bundle entry -> <image>, extending airship-base
  const taken = new Set(['airship-base']);
  for (const b of bundleVars) {
    const clash = bundleVars.filter((x) => x.entry === b.entry).length > 1 && b.bundle !== 'qcow-bundle';
    let name = profileName(clash ? `${b.bundle.replace(/^qcow-bundle-?/, '')}-${b.entry}` : b.entry);
    while (taken.has(name)) name = `${name}-qcow`;
    taken.add(name);
    // the bundle's osconfig-vars was appended to the rootfs one: it replaced the variables it sets, no more
    const osR = b.osconfig
      ? mapOsconfigVars(b.osVars, {
          inherited: airshipBase,
          scope: 'qcow-bundle',
          image: name,
          rootfs: { vars: rootVars.osconfig, inherited: inheritedBase },
        })
      : undefined;
    const qR = b.qcow ? mapQcowVars(b.qcowVars, { inherited: airshipBase }) : undefined;
    const unmapped = [
      ...tag(b.osconfig, osR ?? { profile: {}, unmapped: [] }),
      ...tag(b.qcow, qR ?? { profile: {}, unmapped: [] }),
    ];
    const notes: string[] = [];
    const sources = [b.osconfig, b.qcow].filter((f): f is string => !!f).map(rel);
    const file = path.join(out, `${name}.yaml`);
    await writeChecked(
      file,
      {
        name,
        description: `QCOW2 image ${b.entry} of ${b.bundle}, imported by import-airship`,
        extends: './airship-base.yaml',
        formats: ['qcow2'],
        ...withoutUnknownKubernetes(
          combine((osR?.profile ?? {}) as Vars, (qR?.profile ?? {}) as Vars),
          notes,
        ),
      },
      headerFor(name, sources, notes),
      unmapped,
    );
    results.push({ name, file, sources, unmapped: [...unmapped, ...notes] });
  }
  return results;
}
