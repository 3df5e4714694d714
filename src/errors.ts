/**
 * Typed errors. Library code throws these; only the CLI prints them and picks the exit code.
 */

/** Something the user can fix: bad input, missing tool, wrong host state. Exit code 2. */
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
    super(
      `${context ? `${context}: ` : ''}command ${how}: ${argv.join(' ')}${stderrTail ? `\n--- last lines of its output ---\n${stderrTail}` : ''}`,
    );
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

export function exitCodeFor(err: unknown): number {
  if (err instanceof InterruptedError) return 130;
  if (err instanceof Error && /^Boot(Timeout|Failed)Error$/.test(err.name)) return 4;
  if (err instanceof UserError) return 2;
  if (err instanceof CommandError) return 3;
  return 70;
}

/** Whether an error is the disk running out of space: a file write's ENOSPC, or a tool saying so. */
export function isNoSpace(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC') return true;
  return err instanceof CommandError && /no space left on device/i.test(err.stderrTail);
}
