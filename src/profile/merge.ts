/**
 * How a child profile combines with the one it extends (pure):
 * - lists of plain values append (duplicates dropped);
 * - lists of named entries (see KEYED_LISTS) append, and an entry with the same key replaces the inherited one;
 * - maps (objects) merge key by key, recursively; scalars are replaced;
 * - `remove: { '<dotted.field>': [keys] }` then drops inherited entries by key (package name, map key, entry key).
 *
 * Every merge also says where each value came from (its provenance, an `Origin` tree of the same
 * shape as the value), so `ib-native profiles show` can name the file of each value.
 */

/** Dotted field path -> the property that names an entry of that list. */
export const KEYED_LISTS: Record<string, string> = {
  repos: 'name',
  limits: 'name',
  files: 'path',
  directories: 'path',
  systemd: 'name',
  userScripts: 'name',
  filePermissions: 'path',
  users: 'name',
  fetch: 'url',
  dkms: 'name',
  'kernel.modules.load': 'name',
  'apparmor.profiles': 'name',
  'disk.partitions': 'name',
  'cpu.hugepages.pages': 'size',
};

/** Lists that are replaced as a whole rather than appended. */
const REPLACED_LISTS = new Set(['formats', 'cloudInit.renderers', 'cloudInit.datasources']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Where a value came from: the file that last set it or, for a list or a map, last added, replaced
 * or removed one of its entries; with the origin of each entry (`items`) or key (`keys`).
 */
export interface Origin {
  file: string;
  items?: Origin[];
  keys?: Record<string, Origin>;
}

/** A value with its provenance. */
export interface Traced<T = unknown> {
  value: T;
  origin: Origin;
}

/** Every part of `value` set by `file`. */
export function originOf(value: unknown, file: string): Origin {
  if (Array.isArray(value)) return { file, items: value.map((v) => originOf(v, file)) };
  if (isObj(value))
    return {
      file,
      keys: Object.fromEntries(
        Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, originOf(v, file)]),
      ),
    };
  return { file };
}

function keyOf(entry: unknown, keyProp: string): string | undefined {
  return isObj(entry) && entry[keyProp] !== undefined ? String(entry[keyProp]) : undefined;
}

/** Package lists: entries compare without their `=version` pin. */
const PACKAGE_LISTS = new Set(['packages', 'blockedPackages']);

function plainKey(v: unknown, path = 'packages'): string {
  if (typeof v !== 'string') return JSON.stringify(v);
  return PACKAGE_LISTS.has(path) || path.endsWith('.packages') ? v.replace(/=.*$/, '') : v;
}

type Pair = [value: unknown, origin: Origin];

function mergeList(
  path: string,
  parent: Traced<unknown[]>,
  child: unknown[],
  file: string,
): Traced<unknown[]> {
  const inherited: Pair[] = parent.value.map((v, i) => [v, parent.origin.items?.[i] ?? originOf(v, '')]);
  const mine: Pair[] = child.map((v) => [v, originOf(v, file)]);
  let out: Pair[];
  const keyProp = KEYED_LISTS[path];
  if (REPLACED_LISTS.has(path)) out = mine;
  else if (keyProp) {
    out = [...inherited];
    for (const pair of mine) {
      const k = keyOf(pair[0], keyProp);
      const i = k === undefined ? -1 : out.findIndex(([e]) => keyOf(e, keyProp) === k);
      if (i >= 0) out[i] = pair;
      else out.push(pair);
    }
  } else
    out = [
      ...inherited.filter(([p]) => !child.some((c) => plainKey(c, path) === plainKey(p, path))),
      ...mine,
    ];
  return { value: out.map(([v]) => v), origin: { file, items: out.map(([, o]) => o) } };
}

/** Merge `child` (read from `file`) over `parent`, tracking where every value comes from. */
export function mergeTraced(parent: Traced<Obj>, child: Obj, file: string, path = ''): Traced<Obj> {
  const value: Obj = { ...parent.value };
  const keys: Record<string, Origin> = { ...parent.origin.keys };
  for (const [k, v] of Object.entries(child)) {
    // an unset field (undefined) inherits; it never erases the parent's value
    if (k === 'remove' || k === 'extends' || v === undefined) continue;
    const p = path ? `${path}.${k}` : k;
    const prev = value[k];
    const prevOrigin = keys[k] ?? originOf(prev, parent.origin.file);
    const merged =
      Array.isArray(v) && Array.isArray(prev)
        ? mergeList(p, { value: prev, origin: prevOrigin }, v, file)
        : isObj(v) && isObj(prev)
          ? mergeTraced({ value: prev, origin: prevOrigin }, v, file, p)
          : { value: v, origin: originOf(v, file) };
    value[k] = merged.value;
    keys[k] = merged.origin;
  }
  return { value, origin: { file, keys } };
}

export function mergeProfiles(parent: Obj, child: Obj): Obj {
  return mergeTraced({ value: parent, origin: originOf(parent, '') }, child, '').value;
}

/** An inherited entry that a profile's `remove` dropped. */
export interface Removal {
  /** The dotted field (`packages`, `kernel.modules.blacklist`). */
  field: string;
  key: string;
  /** The file whose `remove` dropped it. */
  by: string;
  /** The file that had set it. */
  from: string;
}

/** Apply the `remove` map of `file`; returns the new value and the keys that matched nothing (reported as errors). */
export function applyRemovalsTraced(
  profile: Traced<Obj>,
  remove: Record<string, string[]>,
  file: string,
): { result: Traced<Obj>; unmatched: string[]; removed: Removal[] } {
  const value = structuredClone(profile.value);
  const origin = structuredClone(profile.origin);
  const unmatched: string[] = [];
  const removed: Removal[] = [];
  // own properties only: "constructor", "__proto__" or "toString" name no profile field or entry
  const own = (o: unknown, k: string) => (isObj(o) && Object.hasOwn(o, k) ? o[k] : undefined);
  for (const [path, keys] of Object.entries(remove)) {
    const parts = path.split('.');
    let holder: unknown = value;
    let holderOrigin: Origin | undefined = origin;
    for (const part of parts.slice(0, -1)) {
      holder = own(holder, part);
      holderOrigin = own(holderOrigin?.keys, part) as Origin | undefined;
    }
    const last = parts[parts.length - 1]!;
    const target = own(holder, last);
    const targetOrigin = own(holderOrigin?.keys, last) as Origin | undefined;
    for (const key of keys) {
      let from: Origin | undefined;
      let hit = false;
      if (Array.isArray(target)) {
        const keyProp = KEYED_LISTS[path];
        // plain lists: an exact entry first ("console=ttyS0,115200n8" is not "console=tty0"), then by package name
        const exact = keyProp ? -1 : target.indexOf(key);
        const idx =
          exact >= 0
            ? exact
            : target.findIndex((e) => (keyProp ? keyOf(e, keyProp) === key : plainKey(e) === plainKey(key)));
        if (idx >= 0) {
          target.splice(idx, 1);
          from = targetOrigin?.items?.splice(idx, 1)[0];
          hit = true;
        }
      } else if (isObj(target) && Object.hasOwn(target, key)) {
        delete target[key];
        from = own(targetOrigin?.keys, key) as Origin | undefined;
        if (targetOrigin?.keys) delete targetOrigin.keys[key];
        hit = true;
      }
      if (!hit) unmatched.push(`${path}: ${key}`);
      else {
        if (targetOrigin) targetOrigin.file = file;
        removed.push({ field: path, key, by: file, from: from?.file ?? '' });
      }
    }
  }
  return { result: { value, origin }, unmatched, removed };
}

/** Apply a `remove` map; returns the new object and the keys that matched nothing (reported as errors). */
export function applyRemovals(
  profile: Obj,
  remove: Record<string, string[]>,
): { result: Obj; unmatched: string[] } {
  const { result, unmatched } = applyRemovalsTraced(
    { value: profile, origin: originOf(profile, '') },
    remove,
    '',
  );
  return { result: result.value, unmatched };
}

/** RFC 6901 JSON pointer of a path of keys and indexes. */
export function jsonPointer(parts: readonly (string | number)[]): string {
  return parts.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Provenance as a flat map: the JSON pointer of every value (`/sysctl/vm.swappiness`,
 * `/files/0/content`; lists and maps too, `''` for the whole profile) to the file that set it.
 */
export function provenanceMap(value: unknown, origin: Origin): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, o: Origin | undefined, at: (string | number)[]) => {
    if (!o) return;
    out[jsonPointer(at)] = o.file;
    if (Array.isArray(v)) for (const [i, e] of v.entries()) walk(e, o.items?.[i], [...at, i]);
    else if (isObj(v))
      for (const [k, e] of Object.entries(v)) if (e !== undefined) walk(e, o.keys?.[k], [...at, k]);
  };
  walk(value, origin, []);
  return out;
}
