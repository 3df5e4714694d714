import { UserError } from '../errors.ts';
import { FORMATS, type Format } from '../profile/formats.ts';

/** Checks of command-line values shared by several commands (light: the CLI's definitions use them). */

export function parseFormats(v: string | undefined): Format[] | undefined {
  if (!v) return undefined;
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of list)
    if (!(FORMATS as readonly string[]).includes(f))
      throw new UserError(
        `--format: unknown format "${f}"`,
        `use one or more of: ${FORMATS.join(', ')} (comma-separated)`,
      );
  return list as Format[];
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0)
    throw new UserError(
      `${what} needs root (it mounts filesystems and attaches loop devices)`,
      `run it with sudo: sudo ib-native ${what} ...`,
    );
}
