import type { Op } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';

/**
 * A configuration module: one concern (sysctl, limits, grub...). Pure: it reads the resolved
 * profile and returns what it needs; it never touches the disk.
 */
export interface ConfigModule {
  readonly name: string;
  /** Packages this module needs installed in the rootfs (added to the one apt transaction). */
  packages?(profile: ResolvedProfile): string[];
  /** Operations to apply to the configured tree, in order. */
  plan(profile: ResolvedProfile): Op[];
  /** Cross-field checks that the schema cannot express; each issue with its dotted path. */
  validate?(profile: ResolvedProfile): { path: string; message: string }[];
}
