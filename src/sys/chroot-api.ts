import type { RunOptions, RunResult } from '../run/runner.ts';

/**
 * What code outside the chroot session needs of it (configuration modules name the scripts folder,
 * applyOps runs commands): defined here, below both, so neither imports src/stages/.
 */

/** Where chroot-scripts/ appears inside the image while the build runs. */
export const SCRIPTS_IN_IMAGE = '/run/ib-native/scripts';

/** An open chroot session on an image tree (src/stages/chroot.ts `Chroot` is one). */
export interface ChrootSession {
  /** The tree's real path on the host. */
  readonly root: string;
  /** Runs argv inside the tree (`chroot <root> argv`) with the session's environment. */
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
}
