import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Document, parse as parseYaml } from 'yaml';
import { UserError } from '../errors.ts';
import { profileSchema } from '../profile/schema.ts';
import { isObj, type Vars } from './values.ts';

/**
 * Finding and reading Airship image-builder manifests, and writing profiles as YAML.
 *
 * The original's layout (image-builder/manifests/, called config/ before March 2021):
 *   rootfs/{multistrap,osconfig,livecdcontent}-vars.yaml       the shared base (ISO and QCOWs)
 *   qcow-bundle*\/<image>/{osconfig,qcow}-vars.yaml            one QCOW per folder, named after it
 *                 (early bundles named them osconfig-<image>-vars.yaml, qcow-<image>-vars.yaml)
 *   scripts/common/*, scripts/qcow/*                            run in the chroot, in name order
 *   iso/{user_data,network_data.json}                           the test ISO's config drive (make generate_iso)
 * Its profiles/<name>/manifests/ folders hold the same layout.
 */

export interface BundleEntry {
  bundle: string;
  entry: string;
  osconfig?: string;
  qcow?: string;
}

export interface ManifestSet {
  /** The folder holding rootfs/ and qcow-bundle*\/. */
  root: string;
  multistrap?: string;
  osconfig?: string;
  livecdcontent?: string;
  scripts: { common: string[]; qcow: string[] };
  bundles: BundleEntry[];
  /** iso/: the config drive files of the ISO, those that exist. */
  iso: IsoInputs;
}

/** The original's iso/ files, by the config drive file each fills (openstack/latest/<name>). */
export interface IsoInputs {
  userData?: string;
  networkData?: string;
  /** Not read by the original (it used a fixed meta_data.json); taken when a site added one. */
  metaData?: string;
}
export const ISO_FILES = {
  userData: 'user_data',
  networkData: 'network_data.json',
  metaData: 'meta_data.json',
} as const;

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
const sorted = (dir: string) => (isDir(dir) ? readdirSync(dir).sort() : []);

/** `name.yaml`, else the one file matching `prefix-*vars.yaml` (the early naming). */
function varsFile(dir: string, prefix: string): string | undefined {
  const exact = [`${prefix}-vars.yaml`, `${prefix}-vars.yml`].map((f) => path.join(dir, f)).find(isFile);
  if (exact) return exact;
  const early = sorted(dir).filter((f) => new RegExp(`^${prefix}-.+-vars\\.ya?ml$`).test(f));
  return early.length === 1 ? path.join(dir, early[0]!) : undefined;
}

function scriptsIn(dir: string): string[] {
  return sorted(dir)
    .filter((f) => f !== 'README.md' && isFile(path.join(dir, f)))
    .map((f) => path.join(dir, f));
}

export function findManifests(dir: string): ManifestSet {
  const abs = path.resolve(dir);
  if (!isDir(abs))
    throw new UserError(
      `${dir} is not a folder`,
      'give the image-builder manifests folder (the one holding rootfs/ and qcow-bundle*/)',
    );
  const candidates = ['', 'manifests', 'config', 'image-builder/manifests', 'image-builder/config'].map((p) =>
    path.join(abs, p),
  );
  const looksRight = (d: string) =>
    isDir(path.join(d, 'rootfs')) ||
    sorted(d).some((f) => f.startsWith('qcow-bundle') && isDir(path.join(d, f)));
  const root = candidates.find((d) => isDir(d) && looksRight(d));
  if (!root)
    throw new UserError(
      `no image-builder manifests found in ${dir}`,
      'expected rootfs/multistrap-vars.yaml, rootfs/osconfig-vars.yaml or qcow-bundle*/<image>/ in it or in its manifests/ or config/ folder',
    );
  const rootfs = path.join(root, 'rootfs');
  const bundles: BundleEntry[] = [];
  for (const bundle of sorted(root).filter((f) => f.startsWith('qcow-bundle') && isDir(path.join(root, f))))
    for (const entry of sorted(path.join(root, bundle))) {
      const d = path.join(root, bundle, entry);
      if (!isDir(d)) continue;
      const e: BundleEntry = { bundle, entry, osconfig: varsFile(d, 'osconfig'), qcow: varsFile(d, 'qcow') };
      if (e.osconfig || e.qcow) bundles.push(e);
    }
  const set: ManifestSet = {
    root,
    multistrap: varsFile(rootfs, 'multistrap'),
    osconfig: varsFile(rootfs, 'osconfig'),
    livecdcontent: varsFile(rootfs, 'livecdcontent'),
    scripts: {
      common: scriptsIn(path.join(root, 'scripts/common')),
      qcow: scriptsIn(path.join(root, 'scripts/qcow')),
    },
    bundles,
    iso: Object.fromEntries(
      Object.entries(ISO_FILES)
        .map(([k, f]) => [k, path.join(root, 'iso', f)])
        .filter(([, f]) => isFile(f as string)),
    ) as IsoInputs,
  };
  if (!set.multistrap && !set.osconfig && !set.livecdcontent && !bundles.length)
    throw new UserError(
      `no image-builder manifests found in ${root}`,
      'expected rootfs/*-vars.yaml files or qcow-bundle*/<image>/{osconfig,qcow}-vars.yaml',
    );
  return set;
}

/** A vars file as Ansible reads it: YAML 1.1 (yes/no booleans, 0755 octal). */
export function readVars(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'), { version: '1.1' });
  } catch (e) {
    throw new UserError(
      `${file}: YAML syntax error: ${(e as Error).message.split('\n')[0]?.replace(/:$/, '')}`,
      'fix the file (image-builder could not have read it either) and run import-airship again',
    );
  }
}

const FIELD_ORDER = Object.keys(profileSchema.shape);

/** A profile as YAML, fields in schema order, with a comment block on top. */
export function renderProfileYaml(profile: Vars, header: readonly string[]): string {
  const ordered = Object.fromEntries(
    [...Object.keys(profile)]
      .sort((a, b) =>
        a === 'remove' ? 1 : b === 'remove' ? -1 : FIELD_ORDER.indexOf(a) - FIELD_ORDER.indexOf(b),
      )
      .map((k) => [k, profile[k]]),
  );
  const doc = new Document(ordered);
  doc.commentBefore = header.map((l) => (l ? ` ${l}` : '')).join('\n');
  return doc.toString({ lineWidth: 0 });
}

/** Deep-merge profile fragments of one profile: lists concatenate, maps (and `remove`) merge. */
export function combine(...fragments: readonly Vars[]): Vars {
  const out: Vars = {};
  const into = (a: Vars, b: Vars) => {
    for (const [k, v] of Object.entries(b)) {
      const prev = a[k];
      if (Array.isArray(prev) && Array.isArray(v)) a[k] = [...prev, ...v];
      else if (isObj(prev) && isObj(v)) into(prev, v);
      else a[k] = isObj(v) ? into({}, v) : v;
    }
    return a;
  };
  for (const f of fragments) into(out, f);
  return out;
}
