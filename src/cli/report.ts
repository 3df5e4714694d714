import { plainText } from '../display/text.ts';
import { CommandError, exitCodeFor, hintOf, InterruptedError, UserError } from '../errors.ts';
import { type Logger, redact } from '../log.ts';

/** Prints an error (and its hint) on stderr, as the CLI shows every failure; returns the exit code. */
export function report(err: unknown, logger?: Logger, secrets: readonly string[] = []): number {
  const code = exitCodeFor(err);
  const e = err as Error;
  const known =
    err instanceof UserError || err instanceof CommandError || err instanceof InterruptedError || code === 4;
  // tool output in an error may carry escape sequences or \r redraws: none reach a pipe
  const say = (text: string) => {
    const safe = redact(text, secrets);
    process.stderr.write(process.stderr.isTTY ? safe : plainText(safe));
  };
  if (known) say(`error: ${e.message}\n`);
  else say(`internal error (please report): ${e?.stack ?? String(err)}\n`);
  const hint = hintOf(err);
  if (hint) say(`hint: ${hint}\n`);
  logger?.debug(`failed: ${e?.stack ?? String(err)}`);
  return code;
}
