import type { Layout } from '../disk/layout.ts';
import type { Distro } from '../distro/index.ts';
import type { Op } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { RootfsInputs } from './rootfs.ts';

/** Everything decided before any work: pure but for reading the profile and its files. */
export interface BuildPlan {
  profile: ResolvedProfile;
  distro: Distro;
  ops: Op[];
  rootfs: RootfsInputs;
  rootfsKey: string;
  layout?: Layout;
  /** What the build should say before any work (a repo without signature checks). */
  warnings: string[];
}
