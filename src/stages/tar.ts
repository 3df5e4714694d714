import type { Logger } from '../log.ts';
import { NOT_SHIPPED } from '../modules/finalize.ts';
import type { Runner } from '../run/runner.ts';
import { watchdog } from '../run/watchdog.ts';

/**
 * The `tar` output: the configured root filesystem as a `.tar.zst` for containers and chroots.
 *
 * GNU tar in POSIX (pax) format, so that xattrs (file capabilities are the `security.capability`
 * xattr), ACLs and long names survive; numeric owners (the image's passwd is not the host's);
 * members in name order from `./`; one filesystem (the tree's mounts stay out). zstd runs with
 * `-T0` (all cores): its multi-threaded output is the same for any worker count, so the archive
 * does not depend on the host's cores (single-threaded mode, `--single-thread`, differs). Level 3
 * (zstd's default) by default: -19 compresses a minimal tree about a fifth smaller at many times
 * the time.
 *
 * `/boot` stays in: the tar is the whole configured tree, like the disk's root, and a chroot made
 * from it (to build or repair an image) needs the kernel and initrd; a container runtime ignores
 * them. What finalize strips (NOT_SHIPPED) is left out again in case the tree still has it.
 */

export const TAR_ZSTD_LEVEL = 3;

/** Root-relative patterns the tar leaves out by default. */
export const TAR_EXCLUDES: readonly string[] = NOT_SHIPPED;

export interface TarInputs {
  /** The configured tree (read only). */
  tree: string;
  out: string;
  /** Root-relative patterns left out (wildcards match across `/`), besides TAR_EXCLUDES. */
  exclude?: readonly string[];
  /** SOURCE_DATE_EPOCH: mtimes clamped to it, and no atime or ctime recorded. */
  sourceDateEpoch?: number;
  /** zstd level, 1 to 19. */
  level?: number;
}

/** The argv that writes the tree as `out` (tar.zst). Pure. */
export function tarArgv(i: TarInputs): string[] {
  const excludes = [...TAR_EXCLUDES, ...(i.exclude ?? [])].map((p) => `--exclude=./${p.replace(/^\/+/, '')}`);
  const level = Math.max(1, Math.min(19, Math.round(i.level ?? TAR_ZSTD_LEVEL)));
  return [
    'tar',
    '--create',
    '--file',
    i.out,
    '--use-compress-program',
    `zstd -T0 -${level}`,
    '--format=posix',
    // pax headers named without the process id (tar's default names them PaxHeaders.<pid>)
    `--pax-option=exthdr.name=%d/PaxHeaders/%f,globexthdr.name=/tmp/GlobalHead.%n${
      i.sourceDateEpoch !== undefined ? ',delete=atime,delete=ctime' : ''
    }`,
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=*',
    '--acls',
    '--sort=name',
    '--one-file-system',
    ...(i.sourceDateEpoch !== undefined ? [`--mtime=@${i.sourceDateEpoch}`, '--clamp-mtime'] : []),
    // patterns match member names from the start (./etc/...), not any tail of them
    '--anchored',
    ...excludes,
    '--directory',
    i.tree,
    '.',
  ];
}

/** `command`: the archiving command as planned (tarArgv, paths filled in); made here when absent. */
export async function buildTar(
  runner: Runner,
  logger: Logger,
  i: TarInputs & { command?: string[] },
): Promise<void> {
  logger.info(`tar: archiving the configured tree (zstd -${i.level ?? TAR_ZSTD_LEVEL})`);
  // exit code 1: a file changed while read; nothing runs in the tree by now, so it is an error too
  await runner.run(i.command ?? tarArgv(i), { ...watchdog(i.out), context: 'archiving the tree (tar.zst)' });
}
