/** The kinds of stage-cache entries, what each holds, and the check that an entry from elsewhere (a registry) holds just that. */
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Kinds of stage entries: base rootfs, its live squashfs, its base disk, that disk as a compressed QCOW2. */
export const CACHE_KINDS = ['rootfs', 'squashfs', 'disk', 'qcow2'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** What each kind of entry holds beside entry.json: one folder or one file, of this name. */
export const ENTRY_CONTENT = {
  rootfs: { name: 'tree', type: 'folder' },
  squashfs: { name: 'filesystem.squashfs', type: 'file' },
  disk: { name: 'disk.raw', type: 'file' },
  qcow2: { name: 'disk.qcow2', type: 'file' },
} as const satisfies Record<CacheKind, { name: string; type: 'folder' | 'file' }>;

export function isCacheKind(kind: string): kind is CacheKind {
  return (CACHE_KINDS as readonly string[]).includes(kind);
}

/**
 * Why an unpacked entry is not shaped like one made here, or undefined: exactly its one folder or
 * file (never a link), and in a rootfs no device node outside /dev (a device elsewhere in the tree
 * would reach the host's disks from the chroot, where only /dev is replaced by our own).
 */
export function entryShapeProblem(kind: string, dir: string): string | undefined {
  if (!isCacheKind(kind)) return `unknown kind ${kind}`;
  const want = ENTRY_CONTENT[kind];
  const names = readdirSync(dir);
  if (names.length !== 1 || names[0] !== want.name)
    return `it holds ${names.map((n) => JSON.stringify(n)).join(', ') || 'nothing'}, not only ${want.name}`;
  const st = lstatSync(path.join(dir, want.name));
  if (want.type === 'folder' ? !st.isDirectory() : !st.isFile())
    return `${want.name} is not a ${want.type}${st.isSymbolicLink() ? ' (a link)' : ''}`;
  if (kind !== 'rootfs') return undefined;
  const tree = path.join(dir, want.name);
  const stack = [tree];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if ((e.isBlockDevice() || e.isCharacterDevice()) && !p.startsWith(`${path.join(tree, 'dev')}/`))
        return `a device node at /${path.relative(tree, p)}`;
    }
  }
  return undefined;
}
