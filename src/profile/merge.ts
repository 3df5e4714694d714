/**
 * How a child profile combines with the one it extends (pure):
 * - lists of plain values append (duplicates dropped);
 * - lists of named entries (see KEYED_LISTS) append, and an entry with the same key replaces the inherited one;
 * - maps (objects) merge key by key, recursively; scalars are replaced;
 * - `remove: { '<dotted.field>': [keys] }` then drops inherited entries by key (package name, map key, entry key).
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

function keyOf(entry: unknown, keyProp: string): string | undefined {
  return isObj(entry) && entry[keyProp] !== undefined ? String(entry[keyProp]) : undefined;
}

/** Package lists: entries compare without their `=version` pin. */
const PACKAGE_LISTS = new Set(['packages', 'blockedPackages']);

function plainKey(v: unknown, path = 'packages'): string {
  if (typeof v !== 'string') return JSON.stringify(v);
  return PACKAGE_LISTS.has(path) || path.endsWith('.packages') ? v.replace(/=.*$/, '') : v;
}

function mergeList(path: string, parent: unknown[], child: unknown[]): unknown[] {
  if (REPLACED_LISTS.has(path)) return [...child];
  const keyProp = KEYED_LISTS[path];
  if (keyProp) {
    const out = [...parent];
    for (const entry of child) {
      const k = keyOf(entry, keyProp);
      const i = k === undefined ? -1 : out.findIndex((e) => keyOf(e, keyProp) === k);
      if (i >= 0) out[i] = entry;
      else out.push(entry);
    }
    return out;
  }
  const out = parent.filter((p) => !child.some((c) => plainKey(c, path) === plainKey(p, path)));
  return [...out, ...child];
}

export function mergeProfiles(parent: Obj, child: Obj, path = ''): Obj {
  const out: Obj = { ...parent };
  for (const [k, v] of Object.entries(child)) {
    // an unset field (undefined) inherits; it never erases the parent's value
    if (k === 'remove' || k === 'extends' || v === undefined) continue;
    const p = path ? `${path}.${k}` : k;
    const prev = out[k];
    if (Array.isArray(v) && Array.isArray(prev)) out[k] = mergeList(p, prev, v);
    else if (isObj(v) && isObj(prev)) out[k] = mergeProfiles(prev, v, p);
    else out[k] = v;
  }
  return out;
}

/** Apply a `remove` map; returns the new object and the keys that matched nothing (reported as errors). */
export function applyRemovals(
  profile: Obj,
  remove: Record<string, string[]>,
): { result: Obj; unmatched: string[] } {
  const result = structuredClone(profile);
  const unmatched: string[] = [];
  for (const [path, keys] of Object.entries(remove)) {
    const parts = path.split('.');
    let holder: unknown = result;
    for (const part of parts.slice(0, -1)) holder = isObj(holder) ? holder[part] : undefined;
    const last = parts[parts.length - 1]!;
    const target = isObj(holder) ? holder[last] : undefined;
    for (const key of keys) {
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
          hit = true;
        }
      } else if (isObj(target) && key in target) {
        delete target[key];
        hit = true;
      }
      if (!hit) unmatched.push(`${path}: ${key}`);
    }
  }
  return { result, unmatched };
}
