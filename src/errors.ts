/**
 * Typed errors. Library code throws these; only the CLI prints them and picks the exit code.
 */

/** Something the user can fix: bad input, wrong usage. Exit code 2 (a host not ready: 5). */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    /** What to do about it. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** A profile failed validation; carries every problem found, each with its dotted field path. */
export class ValidationError extends UserError {
  override name = 'ValidationError';
  constructor(
    readonly source: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(
      `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues
        .map((i) => `  - ${i.path || '(root)'}: ${i.message}`)
        .join('\n')}`,
      'fix the fields listed above; `ib-native plan --profile <p>` re-checks without root',
    );
  }
}

/**
 * The host lacks something the command needs: a tool, a kernel module, a keyring.
 * `ib-native doctor` lists it all. Exit code 5.
 */
export class HostNotReadyError extends UserError {
  override name = 'HostNotReadyError';
}

function commandMessage(context: string | undefined, what: string, argv: readonly string[], tail: string) {
  const output = tail ? `\n--- last lines of its output ---\n${tail}` : '';
  return `${context ? `${context}: ` : ''}${what}: ${argv.join(' ')}${output}`;
}

/** An external command failed. Exit code 3. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderrTail: string,
    readonly signal?: string,
    readonly context?: string,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super(commandMessage(context, `command ${how}`, argv, stderrTail));
  }
}

/**
 * An external command that could not be found or run (see src/run/missing-command.ts): never
 * retried, since it fails the same way every time. Missing on the build host: exit code 5, like
 * doctor's missing tools; missing inside a chroot (the image): 3.
 */
export class CommandNotFoundError extends CommandError {
  override name = 'CommandNotFoundError';
  readonly where: 'host' | 'chroot';
  /** The program that could not be run, when its launcher or shell named it. */
  readonly program?: string;
  readonly hint: string;
  constructor(
    argv: readonly string[],
    exitCode: number | undefined,
    stderrTail: string,
    /** `what`: e.g. `apt-get was not found in the chroot /x`. */
    m: { what: string; where: 'host' | 'chroot'; hint: string; program?: string },
    context?: string,
  ) {
    super(argv, exitCode, stderrTail, undefined, context);
    this.message = commandMessage(context, `${m.what} (not retried)`, argv, stderrTail);
    this.where = m.where;
    this.program = m.program;
    this.hint = m.hint;
  }
}

/** A bug in ib-native itself. Exit code 70. */
export class InternalError extends Error {
  override name = 'InternalError';
}

/** The build was interrupted by a signal. Exit code 130. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}; cleaned up`);
  }
}

/** Errors from elsewhere (e.g. boot timeouts) that carry a hint are the user's to act on. */
export function hintOf(err: unknown): string | undefined {
  const h = (err as { hint?: unknown } | undefined)?.hint;
  return typeof h === 'string' ? h : undefined;
}

/** Every exit code of ib-native: `ib-native --help` and README "Exit codes" show this table. */
export const EXIT = {
  ok: 0,
  notStarted: 1,
  badInput: 2,
  commandFailed: 3,
  bootFailed: 4,
  hostNotReady: 5,
  internal: 70,
  interrupted: 130,
} as const;

export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: EXIT.ok, meaning: 'success' },
  {
    code: EXIT.notStarted,
    meaning: 'ib-native could not start (Node.js older than 20, a dependency missing)',
  },
  {
    code: EXIT.badInput,
    meaning: 'bad input: a flag, file or profile is wrong, the command needs root, or too little disk space',
  },
  {
    code: EXIT.commandFailed,
    meaning: 'an external tool failed; its command line and last output lines are printed',
  },
  { code: EXIT.bootFailed, meaning: 'boot: the image did not reach login: in time, or QEMU failed' },
  {
    code: EXIT.hostNotReady,
    meaning: 'the host is not ready: a tool, kernel module or keyring is missing (see doctor)',
  },
  { code: EXIT.internal, meaning: 'internal error: a bug in ib-native, please report it' },
  {
    code: EXIT.interrupted,
    meaning: 'interrupted (SIGINT, SIGTERM, SIGHUP); mounts, devices and partial files were cleaned up',
  },
];

/** The exit code table as `--help` shows it. */
export function exitCodesHelp(): string {
  return `Exit codes:\n${EXIT_CODES.map((e) => `  ${String(e.code).padEnd(4)} ${e.meaning}`).join('\n')}`;
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError) return EXIT.interrupted;
  if (err instanceof Error && /^Boot(Timeout|Failed)Error$/.test(err.name)) return EXIT.bootFailed;
  if (err instanceof HostNotReadyError) return EXIT.hostNotReady;
  if (err instanceof CommandNotFoundError && err.where === 'host') return EXIT.hostNotReady;
  if (err instanceof UserError) return EXIT.badInput;
  if (err instanceof CommandError) return EXIT.commandFailed;
  return EXIT.internal;
}

/** Whether an error is the disk running out of space: a file write's ENOSPC, or a tool saying so. */
export function isNoSpace(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC') return true;
  return err instanceof CommandError && /no space left on device/i.test(err.stderrTail);
}
