/**
 * A command that cannot be found or run is not a network fault: running it again, or against
 * another mirror, fails the same way. This module tells such a failure from the others by what
 * the process left behind (pure): the spawn error, exit codes 126/127 and the messages of the
 * programs that start others (setpriv, unshare, chroot, the shell).
 */
import { BOOTSTRAPPERS, HOST_TOOLS } from '../../native-tools/tools.ts';

/** Where the program was looked for: on the build host, or inside a chroot (the image's tree). */
export type MissingWhere = 'host' | 'chroot';

export interface MissingCommand {
  /** The program that could not be found or run; undefined when only the exit code tells. */
  program?: string;
  where: MissingWhere;
  /** The chroot's root folder, when the failed argv is `chroot ROOT ...`. */
  root?: string;
  /** `not found`, `not executable` or `exit code 127` (only the exit code tells). */
  reason: string;
}

/** Exit codes of POSIX shells and of coreutils/util-linux launchers: 126 cannot run, 127 not found. */
export const CANNOT_RUN_EXIT_CODES: readonly number[] = [126, 127];

const REASONS: Record<string, string> = {
  'No such file or directory': 'not found',
  'Permission denied': 'not executable',
  'Exec format error': 'not executable (exec format error)',
  'Not a directory': 'not found',
};
const ERRNO = Object.keys(REASONS).join('|');

/** `setpriv: failed to execute X: …`, `unshare: …`, `chroot: failed to run command ‘X’: …`. */
const LAUNCHER = new RegExp(`^([\\w.-]+): failed to (?:execute|run command) [‘'"]?(.+?)[’'"]?: (${ERRNO})$`);
/** `sh: 1: X: not found`, `bash: X: command not found`, `/x.sh: line 3: X: Permission denied`. */
const SHELL = /^(?:.*?: )?(?:line \d+: |\d+: )?([^\s:]+): ((?:command )?not found|Permission denied)$/;

function lines(output: string): string[] {
  return output.split('\n').map((l) => (l.split('\r').filter(Boolean).at(-1) ?? '').trim());
}

/**
 * Whether a failed command could not be found or run, and which program where. `spawnCode` is
 * the errno of a failed spawn (ENOENT, EACCES), `exitCode` undefined then. A launcher's message
 * counts whatever the exit code (mmdebstrap reports the chroot's failure with its own code);
 * a shell's "not found" only with 126/127. Undefined for any other failure.
 */
export function missingCommand(
  argv: readonly string[],
  exitCode: number | undefined,
  output: string,
  spawnCode?: string,
): MissingCommand | undefined {
  const inChroot = argv[0] === 'chroot';
  const chrootRoot = inChroot ? { root: argv[1] } : {};
  if (exitCode === undefined && (spawnCode === 'ENOENT' || spawnCode === 'EACCES'))
    return {
      program: argv[0],
      where: 'host',
      reason: spawnCode === 'ENOENT' ? 'not found' : 'not executable',
    };
  const all = lines(output);
  for (const line of all) {
    const m = LAUNCHER.exec(line);
    if (!m) continue;
    const [, launcher, program, errno] = m;
    // setpriv is the runner's own outermost launcher: what it could not start was on the host
    const where: MissingWhere =
      launcher === 'setpriv' ? 'host' : launcher === 'chroot' || inChroot ? 'chroot' : 'host';
    return { program, where, ...(where === 'chroot' ? chrootRoot : {}), reason: REASONS[errno!]! };
  }
  if (exitCode === undefined || !CANNOT_RUN_EXIT_CODES.includes(exitCode)) return undefined;
  const where: MissingWhere = inChroot ? 'chroot' : 'host';
  for (const line of all) {
    const m = SHELL.exec(line);
    if (m)
      return {
        program: m[1],
        where,
        ...chrootRoot,
        reason: m[2] === 'Permission denied' ? 'not executable' : 'not found',
      };
  }
  return { where, ...chrootRoot, reason: `exit code ${exitCode}` };
}

const PACKAGE_TOOLS = ['apt-get', 'apt', 'dpkg'];

/** One line: what could not be run, and where. */
export function describeMissing(m: MissingCommand): string {
  const place =
    m.where === 'host' ? 'on the build host' : m.root ? `in the chroot ${m.root}` : 'in the chroot';
  if (!m.program) return `a command it runs could not be found or run ${place} (${m.reason})`;
  return `${m.program} ${m.reason === 'not found' ? 'was not found' : `could not be run: ${m.reason}`} ${place}`;
}

/** What to do about it: install the program on the host (doctor names its package) or in the image. */
export function missingHint(m: MissingCommand, argv: readonly string[]): string {
  const name = m.program ? m.program.split('/').at(-1)! : undefined;
  if (m.reason.startsWith('not executable') && m.program)
    return `make ${m.program} executable (chmod +x), or move it off a noexec mount`;
  if (m.where === 'host') {
    const tool = HOST_TOOLS.find((t) => 'command' in t.check && t.check.command === name);
    const install = tool
      ? `install the package ${tool.packages.debian} (Ubuntu: ${tool.packages.ubuntu}) on the build host`
      : name
        ? `install ${name} on the build host, or put its folder on PATH`
        : 'install what the output above names on the build host';
    return `${install}; \`ib-native doctor\` lists every tool a build needs and its package`;
  }
  const what = name ? `${name} is` : 'a command it runs is';
  // apt and dpkg install the packages: without them, the bootstrapper's base system is short
  if ((BOOTSTRAPPERS as readonly string[]).includes(argv[0] ?? '') || PACKAGE_TOOLS.includes(name ?? ''))
    return `${what} not in the base system the bootstrapper made for this distro: try the other bootstrapper (--bootstrapper), or add the package that provides it`;
  return `${what} not in the image: add the package that provides it to the profile's \`packages\``;
}
