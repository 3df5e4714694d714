/** The kinds of stage-cache entries and what each holds (shared by the local store and the remote cache). */

/** Kinds of stage entries: base rootfs, its live squashfs, its base disk. */
export const CACHE_KINDS = ['rootfs', 'squashfs', 'disk'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** What each kind of entry holds beside entry.json: one folder or one file, of this name. */
export const ENTRY_CONTENT = {
  rootfs: { name: 'tree', type: 'folder' },
  squashfs: { name: 'filesystem.squashfs', type: 'file' },
  disk: { name: 'disk.raw', type: 'file' },
} as const satisfies Record<CacheKind, { name: string; type: 'folder' | 'file' }>;

export function isCacheKind(kind: string): kind is CacheKind {
  return (CACHE_KINDS as readonly string[]).includes(kind);
}
