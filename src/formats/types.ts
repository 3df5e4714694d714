import type { Cache } from '../cache/store.ts';
import { InternalError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Family, Format } from '../profile/formats.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { ProgressUpdate } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import type { Qcow2CompressionType } from '../stages/disk.ts';
import type { ConfigDrive, SquashfsOptions } from '../stages/iso.ts';
import type { BuildPlan, CommandTemplate } from '../stages/plan.ts';

/**
 * The plug-in interface of an image format. A format is made from its family's product (the live
 * base squashfs and configured live tree, the finished raw disk, or the configured tree), so the
 * rootfs, the common layer and the family's layer are shared by every format of the family.
 * The registry is src/formats/index.ts; the names and families are src/profile/formats.ts.
 */

/** Paths a command template may name. */
export interface StepPaths {
  /** The output being made (staged beside its final name). */
  out: string;
  /** The format's own work folder. */
  work: string;
  /** The finished raw disk (disk family). */
  raw?: string;
  /** The configured tree, mounted (live and tree families). */
  tree?: string;
}

/** A format's part of the plan: what it writes and the commands that make it from the family's product. */
export interface PlannedFormat {
  /** What the output is, in words (shown by `plan`). */
  describe: string;
  /** Its commands, in order; every one is run exactly as planned (placeholders filled). */
  commands: CommandTemplate[];
  /**
   * When the build may make the output another way instead, known only then (a cache entry): the
   * build then says `<stage>: planned commands skipped: <unless>` and runs none of them.
   */
  unless?: string;
}

/** What a family makes once for all its formats, handed to each format's `make`. */
export interface LiveProduct {
  family: 'live';
  /** The configured live tree (rootfs + common + live layers), mounted. */
  tree: string;
  /** The cached base squashfs (the rootfs alone), made or taken from the cache on first use. */
  baseSquashfs: () => Promise<string>;
  /** The configuration layers' upper folders, bottom first, as the ISO stacks them. */
  layers: { name: string; dir: string }[];
  kernelVersion: string;
  /** How the base squashfs was made (layers use it too, with their own time). */
  squashfs: SquashfsOptions;
}
export interface DiskProduct {
  family: 'disk';
  /** The finished raw disk, partitioned, filled and with its boot loaders. */
  raw: string;
  /**
   * When the raw disk is a copy of the cached base disk: that disk, and its QCOW2 with the given
   * compression (converted and cached on first use), which a QCOW2 is made from as a delta.
   */
  base?: { disk: string; qcow2: (compressionType: Qcow2CompressionType) => Promise<string> };
}
export interface TreeProduct {
  family: 'tree';
  /** The configured tree (rootfs + common + tree layers), mounted. */
  tree: string;
}
export type Product = LiveProduct | DiskProduct | TreeProduct;
export type ProductOf<F extends Family> = Extract<Product, { family: F }>;

/** Everything a format's `make` may use besides its product. */
export interface MakeContext<F extends Family = Family> {
  runner: Runner;
  logger: Logger;
  plan: BuildPlan;
  profile: ResolvedProfile;
  product: ProductOf<F>;
  paths: StepPaths;
  /** The output's name once published (`paths.out` is its staging name). */
  finalName: string;
  /** The commands planned for this format, placeholders filled, in order. */
  commands: string[][];
  cache: Cache;
  sourceDateEpoch?: number;
  /** The config drive (with `build --site`: this site's). */
  configDrive: ConfigDrive;
  /** `build --site`: the site, and whether an earlier site's ISO tree is there to reuse. */
  site?: { name: string; reuse: boolean };
  /** Progress of work done in-process (a command's own progress comes through the runner). */
  progress: (p: ProgressUpdate) => void;
}

export interface ImageFormat<F extends Family = Family> {
  name: Format;
  family: F;
  /** Pure: this format's steps for a plan (for one site's ISO with `build --site`). */
  plan(plan: BuildPlan, site?: string): PlannedFormat;
  /**
   * Makes the output at `paths.out` from the family's product; 'skipped' when it made it another way
   * than its planned commands, as the plan's `unless` allows.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a format that always runs its plan returns nothing
  make(ctx: MakeContext<F>): Promise<void | 'skipped'>;
}

/** Fills a command template's `{name}` tokens; an unknown or missing name is a bug, not a path. */
export function fillCommand(template: CommandTemplate, paths: StepPaths): string[] {
  return template.map((arg) =>
    arg.replace(/\{(out|work|raw|tree)\}/g, (_m, name: keyof StepPaths) => {
      const v = paths[name];
      if (v === undefined) throw new InternalError(`planned command ${template.join(' ')} needs {${name}}`);
      return v;
    }),
  );
}
