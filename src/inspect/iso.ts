/**
 * Reading a produced live ISO offline: no mount, no loop device. Files of the ISO 9660 tree are
 * read at their place in the ISO file (`xorriso -exec report_lba` says where); the squashfs layers
 * are read in place with `unsquashfs -o OFFSET`, and stacked as live-boot stacks them (see
 * squashfs.ts); the opaque folders of the upper layers come from their xattrs, read with
 * `sqfs2tar` (squashfs-tools-ng).
 */
import { closeSync, createReadStream, createWriteStream, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';
import { opaqueInTar } from '../sys/opaque.ts';
import type { Entry } from './entries.ts';
import { type IsoExtent, parseReportLba } from './parsers.ts';
import type { ImageFs } from './paths.ts';
import { type Layer, type MergedView, parseSquashfsListing, stackLayers } from './squashfs.ts';

/** Where a squashfs can be read: a file, at a byte offset. */
export interface SquashfsSource {
  file: string;
  offset: number;
}

export interface IsoLayer extends Layer {
  source: SquashfsSource;
  bytes: number;
}

export interface IsoImage {
  /** The ISO 9660 files (boot loader, kernel, config drive, squashfs layers) and where they are. */
  files: Map<string, IsoExtent[]>;
  /** Bottom first. */
  layers: IsoLayer[];
  view: MergedView;
  /** The live system's root filesystem. */
  fs: ImageFs;
  /** An ISO 9660 file's bytes (`/boot/grub/grub.cfg`); undefined when the ISO has none. */
  readIsoFile(p: string): Buffer | undefined;
}

function readExtents(iso: string, extents: readonly IsoExtent[]): Buffer {
  const fd = openSync(iso, 'r');
  try {
    return Buffer.concat(
      extents.map((x) => {
        const b = Buffer.alloc(x.bytes);
        let done = 0;
        while (done < x.bytes) {
          const n = readSync(fd, b, done, x.bytes - done, x.offset + done);
          if (n <= 0)
            throw new UserError(`${iso} is truncated`, 'the ISO was not completely written or copied');
          done += n;
        }
        return b;
      }),
    );
  } finally {
    closeSync(fd);
  }
}

/** Copy a file of the ISO to a plain file (for tools that cannot read at an offset). */
async function copyOut(iso: string, extents: readonly IsoExtent[], dest: string): Promise<void> {
  const out = createWriteStream(dest);
  for (const x of extents) {
    if (!x.bytes) continue;
    await pipeline(createReadStream(iso, { start: x.offset, end: x.offset + x.bytes - 1 }), out, {
      end: false,
    });
  }
  out.end();
  await new Promise<void>((resolve, reject) => out.on('finish', resolve).on('error', reject));
}

/** A path for unsquashfs' extract/cat list, which takes wildcards: every special character escaped. */
export function unsquashfsPattern(p: string): string {
  return p.replace(/([*?[\]\\()!+@])/g, '\\$1');
}

/** The folders of a squashfs whose trusted.overlay.opaque xattr is `y`, from sqfs2tar's PAX headers. */
export async function opaqueFolders(runner: Runner, squashfs: string): Promise<Set<string>> {
  const r = await runner.run(['sqfs2tar', squashfs], {
    binary: true,
    context: `reading the xattrs of ${squashfs}`,
  });
  return opaqueInTar(r.stdoutBytes ?? Buffer.alloc(0));
}

export async function openIso(runner: Runner, iso: string, scratch: string): Promise<IsoImage> {
  const report = await runner.run(['xorriso', '-indev', iso, '-find', '/', '-exec', 'report_lba', '--'], {
    context: `reading the file table of ${iso}`,
  });
  const files = parseReportLba(report.stdout);
  const readIsoFile = (p: string) => {
    const x = files.get(p);
    return x ? readExtents(iso, x) : undefined;
  };
  const module = readIsoFile('/live/filesystem.module')?.toString();
  const names = module
    ? module
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : ['filesystem.squashfs'];
  const layers: IsoLayer[] = [];
  for (const [i, name] of names.entries()) {
    const extents = files.get(`/live/${name}`);
    if (!extents?.length)
      throw new UserError(
        `${iso} has no /live/${name}`,
        'this is not a live ISO made by ib-native (or live/filesystem.module names a missing layer)',
      );
    let source: SquashfsSource = { file: iso, offset: extents[0]!.offset };
    // tools that take a plain file: upper layers (small) for sqfs2tar, and a squashfs in several extents
    const plain = path.join(scratch, `layer-${i}-${name}`);
    if (extents.length > 1 || i > 0) {
      await copyOut(iso, extents, plain);
      if (extents.length > 1) source = { file: plain, offset: 0 };
    }
    const listing = await runner.run(['unsquashfs', '-lln', '-o', String(source.offset), source.file], {
      context: `listing ${name} in ${iso}`,
    });
    layers.push({
      name,
      source,
      bytes: extents.reduce((n, x) => n + x.bytes, 0),
      listing: parseSquashfsListing(listing.stdout),
      // opaque folders only hide what is below them: the bottom layer has nothing below
      opaque: i > 0 ? await opaqueFolders(runner, plain) : new Set(),
    });
  }
  const view = stackLayers(layers);
  const entryAt = (p: string): Entry | undefined => view.entries.get(p);
  const fs: ImageFs = {
    lstat: async (p) => entryAt(p),
    readlink: async (p) => entryAt(p)?.target ?? '',
    read: async (p) => {
      const e = view.entries.get(p);
      if (!e) throw new Error(`${p} is not in ${iso}`);
      const { source } = layers[e.layer]!;
      const r = await runner.run(
        ['unsquashfs', '-o', String(source.offset), '-cat', source.file, unsquashfsPattern(p)],
        { binary: true, context: `reading ${p} from ${layers[e.layer]!.name}` },
      );
      return r.stdoutBytes ?? Buffer.alloc(0);
    },
    list: async (dir) =>
      new Map(
        [...(view.children.get(dir) ?? [])]
          .sort()
          .map((p) => [p.slice(p.lastIndexOf('/') + 1), view.entries.get(p)!]),
      ),
    whyAbsent: (p) => {
      const layer = view.deleted.get(p);
      return layer === undefined ? undefined : `deleted in ${layers[layer]!.name}`;
    },
  };
  return { files, layers, view, fs, readIsoFile };
}
