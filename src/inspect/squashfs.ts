/**
 * The live filesystem of a layered ISO, offline (pure parts): the listing of each squashfs layer
 * (`unsquashfs -lln`) and their stacking with overlayfs semantics, as live-boot mounts them
 * (live/filesystem.module, bottom first): a later layer wins; a whiteout (a 0/0 character
 * device) deletes the path and everything below it; a folder marked opaque
 * (trusted.overlay.opaque=y) hides everything below it in the lower layers; a non-folder hides a
 * lower folder's whole subtree.
 */
import { type Entry, type EntryType, modeFromString } from './entries.ts';

export interface SquashfsEntry extends Entry {
  /** overlayfs whiteout: a 0/0 character device. */
  whiteout: boolean;
}

const LISTING_LINE =
  /^([-dlcbps])(\S{9}) (\d+)\/(\d+)\s+(\d+|\d+,\s*\d+) \d{4}-\d\d-\d\d \d\d:\d\d squashfs-root(.*)$/;

/** Parse `unsquashfs -lln` output: absolute paths ('/' for the root) to entries, in listing order. */
export function parseSquashfsListing(text: string): Map<string, SquashfsEntry> {
  const out = new Map<string, SquashfsEntry>();
  for (const line of text.split('\n')) {
    const m = LISTING_LINE.exec(line);
    if (!m) continue;
    const type = (m[1] === '-' ? 'f' : m[1]) as EntryType;
    let name = m[6]!;
    let target: string | undefined;
    if (type === 'l') {
      const arrow = name.indexOf(' -> ');
      target = name.slice(arrow + 4);
      name = name.slice(0, arrow);
    }
    const dev = /^(\d+),\s*(\d+)$/.exec(m[5]!);
    out.set(name || '/', {
      type,
      mode: modeFromString(m[1]! + m[2]!),
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: dev ? 0 : Number(m[5]),
      ...(target !== undefined && { target }),
      whiteout: type === 'c' && dev?.[1] === '0' && dev[2] === '0',
    });
  }
  return out;
}

export interface Layer {
  /** The squashfs file's name in live/ (`config-iso.squashfs`). */
  name: string;
  listing: ReadonlyMap<string, SquashfsEntry>;
  /** Folders marked trusted.overlay.opaque=y in this layer. */
  opaque?: ReadonlySet<string>;
}

export interface MergedEntry extends Entry {
  /** Index of the layer that provides it. */
  layer: number;
}

export interface MergedView {
  entries: Map<string, MergedEntry>;
  /** Folder -> the paths directly in it. */
  children: Map<string, Set<string>>;
  /** Paths a layer deleted (whiteout, opaque folder or replaced folder), and by which layer, unless a later one brought them back. */
  deleted: Map<string, number>;
}

const parentOf = (p: string) => (p === '/' ? '' : p.slice(0, p.lastIndexOf('/')) || '/');

/** Stack squashfs layers, bottom first, as overlayfs does (pure). */
export function stackLayers(layers: readonly Layer[]): MergedView {
  const entries = new Map<string, MergedEntry>();
  const children = new Map<string, Set<string>>();
  const deleted = new Map<string, number>();
  /** Drop what lower layers have at `p` (with `self`) and below it. */
  const hide = (p: string, layer: number, self: boolean) => {
    const todo = self ? [p] : [...(children.get(p) ?? [])];
    while (todo.length) {
      const k = todo.pop()!;
      const e = entries.get(k);
      if (!e || e.layer >= layer) continue;
      entries.delete(k);
      children.get(parentOf(k))?.delete(k);
      deleted.set(k, layer);
      todo.push(...(children.get(k) ?? []));
      children.delete(k);
    }
  };
  layers.forEach((layer, i) => {
    for (const [p, e] of layer.listing) {
      if (e.whiteout) {
        hide(p, i, true);
        deleted.set(p, i);
        continue;
      }
      const below = entries.get(p);
      if (below && below.layer < i && (below.type !== 'd' || e.type !== 'd')) hide(p, i, true);
      if (e.type === 'd' && layer.opaque?.has(p)) hide(p, i, false);
      const { whiteout: _w, ...entry } = e;
      entries.set(p, { ...entry, layer: i });
      if (p !== '/') {
        const siblings = children.get(parentOf(p)) ?? new Set<string>();
        siblings.add(p);
        children.set(parentOf(p), siblings);
      }
      deleted.delete(p);
    }
  });
  return { entries, children, deleted };
}
