import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Squashing stacked overlay layers: what a later layer hides of an earlier one must not ship in
 * the earlier one either. A whiteout hides, it does not delete: a file the common layer wrote
 * (a download in /tmp/url_resources, apt lists a script left, a key) and that the image's own
 * layer then removed would otherwise still be inside config-common.squashfs on the ISO.
 *
 * Rule (overlayfs lookup): an entry of the later layer that is not a folder (file, link,
 * whiteout) hides the same path of the earlier layer, and so does a folder where the earlier
 * layer has something else, and an opaque folder (`opaque`: the later layer's folders marked
 * `trusted.overlay.opaque=y`, a folder removed and made again, in-image paths) hides the earlier
 * layer's folder with all it holds. Removes the hidden paths from `earlier` (a copy of the
 * earlier layer's upper folder, never the layer itself) and returns them, in-image (`/a/b`), in
 * walk order.
 */
export function pruneHidden(
  earlier: string,
  later: string,
  opaque: ReadonlySet<string> = new Set(),
): string[] {
  const removed: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(later, rel)).sort()) {
      const r = path.join(rel, name);
      const top = lstatSync(path.join(later, r));
      const below = lstatSync(path.join(earlier, r), { throwIfNoEntry: false });
      if (!below) continue;
      if (!top.isDirectory() || !below.isDirectory() || opaque.has(`/${r}`)) {
        rmSync(path.join(earlier, r), { recursive: true, force: true });
        removed.push(`/${r}`);
      } else walk(r);
    }
  };
  walk('');
  return removed;
}
