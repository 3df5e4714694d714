import type { Layout } from '../disk/layout.ts';
import type { Distro } from '../distro/index.ts';
import type { Op } from '../ops/types.ts';
import type { Family, Format } from '../profile/formats.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { RootfsInputs } from './rootfs.ts';

/** A planned command: argv whose `{out}`, `{work}`, `{raw}`, `{tree}` tokens are the build's paths. */
export type CommandTemplate = readonly string[];

/** One step of the build, in the order `build` runs them (`plan --json` prints them). */
export interface PlannedStage {
  /** rootfs, configure, a family (live, disk, tree) or a format (iso, qcow2, ...). */
  stage: string;
  describe: string;
  family?: Family;
  format?: Format;
  /** The rootfs's cache key. */
  key?: string;
  /** The output's name in the output folder. */
  output?: string;
  /** `build --site`: the site whose config drive this ISO carries. */
  site?: string;
  /** The commands that make the output, run exactly as planned (placeholders filled). */
  commands?: CommandTemplate[];
  /** When the build makes the output another way and skips those commands (PlannedFormat.unless). */
  unless?: string;
}

/** Everything decided before any work: pure but for reading the profile, its files and the environment. */
export interface BuildPlan {
  profile: ResolvedProfile;
  distro: Distro;
  ops: Op[];
  rootfs: RootfsInputs;
  rootfsKey: string;
  layout?: Layout;
  /** SOURCE_DATE_EPOCH when set: the outputs are made reproducibly. */
  sourceDateEpoch?: number;
  /** What the build should say before any work (a repo without signature checks). */
  warnings: string[];
  /** `build --site`: one ISO per site (folder name), each with that site's config drive. */
  sites?: string[];
  /** Every step, in order. */
  stages: PlannedStage[];
}
