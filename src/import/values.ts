// Over 300 lines: the import's value converters are small pure functions kept in one place for the mappers that share them.
import { type Profile, type ProfileInput, profileSchema } from '../profile/schema.ts';

/**
 * Value conversions for importing Airship image-builder manifests (pure): Jinja placeholders, modes,
 * sizes, run contexts, and how a list the original *replaces* becomes additions plus `remove`
 * entries under ib-native's extends semantics (src/profile/merge.ts).
 */

export type Vars = Record<string, unknown>;
/** What the profile being written inherits: a resolved profile (or any part of one). */
export type Inherited = Readonly<Partial<Profile>>;

export const isObj = (v: unknown): v is Vars => typeof v === 'object' && v !== null && !Array.isArray(v);
export const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? 'null');

/** A profile fragment being built plus the things that could not go into it. */
export class Collector {
  readonly profile: Vars = {};
  readonly unmapped: string[] = [];
  private readonly removals: Record<string, string[]> = {};

  /** `path` is where the value came from in the original file, e.g. `sysctl[3].value`. */
  skip(path: string, reason: string): void {
    this.unmapped.push(`${path}: ${reason}`);
  }

  set(field: string, value: unknown): void {
    const parts = field.split('.');
    let holder = this.profile;
    for (const p of parts.slice(0, -1)) {
      if (!isObj(holder[p])) holder[p] = {};
      holder = holder[p] as Vars;
    }
    holder[parts[parts.length - 1]!] = value;
  }

  remove(field: string, keys: readonly string[]): void {
    if (keys.length) this.removals[field] = [...(this.removals[field] ?? []), ...keys];
  }

  result(): MapResult {
    const profile = { ...this.profile } as MappedProfile;
    if (Object.keys(this.removals).length) profile.remove = { ...this.removals };
    return { profile, unmapped: [...this.unmapped] };
  }
}

/** The first schema problem of a profile fragment, or undefined when it fits. */
export function problemOf(fragment: Vars): string | undefined {
  const r = profileSchema.safeParse({ name: 'probe', ...fragment });
  if (r.success) return undefined;
  const i = r.error.issues[0]!;
  return i.code === 'unrecognized_keys' ? `unknown ${i.keys.join(', ')}` : i.message;
}

const WHOLE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;
const INNER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
export const hasTemplate = (s: unknown): boolean => typeof s === 'string' && /\{\{|\{%/.test(s);

/**
 * Substitute `{{ name }}` placeholders from `vars` (a whole-string placeholder takes the variable's
 * value, list or scalar; an embedded one its text). Anything else Jinja is left as written, for the
 * caller to report.
 */
export function resolveTemplates(value: unknown, vars: Vars, depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole && whole[1]! in vars) return resolveTemplates(vars[whole[1]!], vars, depth + 1);
    return value.replace(INNER, (m, name: string) => {
      const v = vars[name];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? String(resolveTemplates(String(v), vars, depth + 1))
        : m;
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, vars, depth + 1));
  if (isObj(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, vars, depth + 1)]),
    );
  return value;
}

/**
 * Ansible file modes. The manifests are YAML 1.1 (PyYAML), so `0755` arrives as the number 493 and a
 * quoted '0755' as a string; an unquoted `755` is the decimal 755, which Ansible applies as mode 01363.
 */
export function modeOf(v: unknown): { mode: string } | { problem: string } {
  if (typeof v === 'string') {
    if (/^0?[0-7]{3,4}$/.test(v)) return { mode: v.length === 3 ? `0${v}` : v };
    return {
      problem: `mode ${show(v)} is not an octal mode such as '0644' (symbolic modes are not supported)`,
    };
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o7777) {
    if (/^[0-7]{3,4}$/.test(String(v)) && v > 0o777)
      return {
        problem: `mode ${v} is a decimal number (Ansible applies it as 0${v.toString(8)}); write it quoted, e.g. '0${v}'`,
      };
    return { mode: v.toString(8).padStart(4, '0') };
  }
  return { problem: `mode ${show(v)} is not an octal mode` };
}

/** qemu-img sizes (`19G`; k/K, M, G, T are powers of 1024, a bare number is bytes) as a schema size. */
export function diskSizeOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return `${v}B`;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kKMGT]?)(?:i?B)?$/.exec(v.trim());
  if (!m) return undefined;
  return m[2] ? `${m[1]}${m[2].toUpperCase()}` : `${m[1]}B`;
}

const PARTED_DECIMAL: Record<string, number> = { b: 1, s: 512, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * parted positions (what Ansible's parted module hands to `mkpart`): `1284MiB`, `100%`; binary units
 * (KiB, MiB, GiB, TiB) and % carry over; parted reads k/M/G/T with or without B as powers of 1000, `s`
 * as 512-byte sectors, and a bare number as MB. Those become exact byte counts. Negative positions
 * (counted from the end) have no equivalent.
 */
export function partedSizeOf(v: unknown): string | undefined {
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z%]*)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!;
  const binary = /^([KMGT])iB$/i.exec(unit);
  if (binary) return `${m[1]}${binary[1]!.toUpperCase()}iB`;
  if (unit === '%') return n <= 100 ? `${m[1]}%` : undefined;
  const dec = unit === '' ? 'm' : /^([bskmgt])b?$/i.exec(unit)?.[1]?.toLowerCase();
  if (!dec) return undefined;
  const bytes = n * PARTED_DECIMAL[dec]!;
  return Number.isInteger(bytes) ? `${bytes}B` : undefined;
}

/** Numeric strings as numbers (sysctl, limits), so equal values compare equal with the inherited ones. */
export function numberish(v: unknown): unknown {
  return typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
}

/** Names of the two run contexts (the osconfig role's `default_run_context` and `qcow_run_context`). */
export interface ContextNames {
  common: string;
  qcow: string;
}

/**
 * `run_contexts` as profile contexts. In the shared rootfs, `common` is every image (the default, so
 * omitted) and `qcow` only the QCOW2 images. In a QCOW bundle only the `qcow` entries ever ran.
 */
export function contextsOf(
  v: unknown,
  names: ContextNames,
  scope: 'rootfs' | 'qcow-bundle',
): { contexts?: ('common' | 'disk')[] } | { problem: string } {
  if (v === undefined) return {};
  const list = Array.isArray(v) ? v : [v];
  if (!list.length) return { problem: 'its run_contexts is empty, so image-builder never ran it' };
  const unknown = list.filter((c) => c !== names.common && c !== names.qcow);
  if (unknown.length) return { problem: `unknown run context ${unknown.map(show).join(', ')}` };
  const qcow = list.includes(names.qcow);
  if (scope === 'qcow-bundle')
    return qcow
      ? { contexts: ['disk'] }
      : {
          problem: `its run_contexts lack ${show(names.qcow)}, so image-builder never ran it for this QCOW (a bundle's osconfig-vars only run in the qcow context)`,
        };
  return list.includes(names.common) ? {} : qcow ? { contexts: ['disk'] } : {};
}

/**
 * How entries of a plain list relate. `merge` is the key src/profile/merge.ts compares by (a child
 * entry drops the inherited entries with the same key): the package name without its pin in package
 * lists, the whole entry elsewhere. `group` is what order and replacement are judged by: also the
 * package name for packages, the parameter name for a kernel command line (its `console=`
 * entries all count, in order), the whole entry otherwise.
 */
export type ListKind = 'packages' | 'cmdline' | 'plain';
const unpinned = (s: string) => s.replace(/=.*$/, '');
const KEYS: Record<ListKind, { merge: (s: string) => string; group: (s: string) => string }> = {
  packages: { merge: unpinned, group: unpinned },
  cmdline: { merge: (s) => s, group: unpinned },
  plain: { merge: (s) => s, group: (s) => s },
};

/**
 * A plain list the original sets as a whole, expressed against the inherited list: entries to add in
 * the child and entries to `remove`. Every group whose entries differ (in content or order) is
 * restated completely; inherited entries of such a group that the merge would keep are removed. The
 * result holds exactly the desired entries, each group in the desired order. Appending is the same
 * call with `desired = [...inherited, ...appended]`.
 */
export function listChange(
  desired: readonly string[],
  inherited: readonly string[] = [],
  kind: ListKind = 'plain',
): { add: string[]; remove: string[] } {
  const { merge, group } = KEYS[kind];
  // a repeated entry counts once, at its last place (the kernel reads the last of repeated parameters)
  desired = desired.filter((d, i) => !desired.includes(d, i + 1));
  const groups = new Set([...desired, ...inherited].map(group));
  const changed = new Set(
    [...groups].filter((g) => {
      const a = desired.filter((d) => group(d) === g);
      const b = inherited.filter((d) => group(d) === g);
      return a.length !== b.length || a.some((x, i) => x !== b[i]);
    }),
  );
  const add = desired.filter((d) => changed.has(group(d)));
  return {
    add,
    remove: inherited.filter((i) => changed.has(group(i)) && !add.some((a) => merge(a) === merge(i))),
  };
}

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    isObj(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .filter((k) => x[k] !== undefined)
            .map((k) => [k, x[k]]),
        )
      : x,
  );
export const sameValue = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/**
 * A list of named entries the original sets as a whole: entries that differ from the inherited one of
 * the same key (or are new) are added, inherited keys absent from the desired list are removed.
 * Under merge.ts the survivors keep the inherited order and new entries follow; `order` is that order.
 */
export function keyedChange<T extends Vars>(
  desired: readonly T[],
  inherited: readonly Vars[] = [],
  key: string,
  /** Keys of entries that could not be imported: their inherited entries stay. */
  keep: readonly string[] = [],
): { add: T[]; remove: string[]; order: string[] } {
  const k = (e: Vars) => String(e[key]);
  const byKey = new Map(inherited.map((e) => [k(e), e]));
  const wanted = new Set([...desired.map(k), ...keep]);
  const add = desired.filter((d) => !byKey.has(k(d)) || !sameValue(byKey.get(k(d)), d));
  const remove = inherited.map(k).filter((x) => !wanted.has(x));
  const order = [
    ...inherited.map(k).filter((x) => wanted.has(x)),
    ...desired.map(k).filter((x) => !byKey.has(x)),
  ];
  return { add, remove, order };
}

/** A map the original sets as a whole (sysctl): changed or new keys are added, missing keys removed. */
export function mapChange(
  desired: Readonly<Record<string, unknown>>,
  inherited: Readonly<Record<string, unknown>> = {},
  /** Keys of entries that could not be imported: their inherited values stay. */
  keep: readonly string[] = [],
): { add: Record<string, unknown>; remove: string[] } {
  return {
    add: Object.fromEntries(
      Object.entries(desired).filter(([k, v]) => !(k in inherited) || String(inherited[k]) !== String(v)),
    ),
    remove: Object.keys(inherited).filter((k) => !(k in desired) && !keep.includes(k)),
  };
}

/**
 * A mapper's profile fragment. `kubernetes` (kubernetes.version, e.g. '1.21.2') is spelled out for
 * schemas without that field (it comes with branch h-k8s); with it, the intersection changes nothing.
 */
export type MappedProfile = Partial<ProfileInput> & { kubernetes?: { version?: string } };
export type MapResult = { profile: MappedProfile; unmapped: string[] };
export interface MapOptions {
  /** What the profile being written inherits (a resolved profile); replaced lists are expressed against it. */
  inherited?: Inherited;
  /** Where the file sits: the shared rootfs (default) or a QCOW bundle entry. */
  scope?: 'rootfs' | 'qcow-bundle';
  /** The profile's name (prefixes generated entry names in a QCOW bundle). */
  image?: string;
  /**
   * For a QCOW bundle's osconfig-vars: the rootfs osconfig-vars it was appended to (`vars`) and what
   * the rootfs profile inherits (`inherited`), for the variables the bundle replaces.
   */
  rootfs?: { vars: unknown; inherited?: Inherited };
}

/** The variables of a file: an empty (comment-only) file is no variables; anything but a mapping is reported. */
export function asMapping(obj: unknown, c: Collector): Vars | undefined {
  if (obj === null || obj === undefined) return {};
  if (isObj(obj)) return obj;
  c.skip('(file)', `is ${Array.isArray(obj) ? 'a list' : show(obj)}, not a mapping of variables`);
  return undefined;
}

function stringProblem(x: unknown, fragment?: (s: string) => Vars): string | undefined {
  if (typeof x !== 'string' && typeof x !== 'number') return `${show(x)} is not a string`;
  const s = String(x);
  if (hasTemplate(s)) return `${show(s)} is a Jinja expression ib-native cannot evaluate`;
  const problem = fragment && problemOf(fragment(s));
  return problem ? `${show(s)}: ${problem}` : undefined;
}

/** Strings of a list variable, each checked as `fragment(s)`; other entries and unevaluated Jinja are reported. */
export function strings(v: unknown, path: string, c: Collector, fragment?: (s: string) => Vars): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    c.skip(path, `is ${show(v)}, not a list`);
    return [];
  }
  const out: string[] = [];
  for (const [i, x] of v.entries()) {
    const problem = stringProblem(x, fragment);
    if (problem) c.skip(`${path}[${i}]`, problem);
    else out.push(String(x));
  }
  return out;
}

export function unknownKeys(
  v: Vars,
  known: readonly string[],
  path: string,
  c: Collector,
  why: string,
): void {
  for (const k of Object.keys(v)) if (!known.includes(k)) c.skip(path ? `${path}.${k}` : k, why);
}
