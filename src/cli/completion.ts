import { listProfiles } from '../profile/files.ts';

/**
 * Shell completion. `ib-native completion` prints yargs' bash/zsh script, which calls
 * `ib-native --get-yargs-completions <words...>` on each TAB; yargs completes commands, options and
 * choices. This adds what yargs cannot know: the shipped profile names after --profile/-p.
 */

export const COMPLETION_FLAG = '--get-yargs-completions';

/**
 * The completions for a profile value, or undefined when the word is not one (yargs answers).
 * A word that looks like a path gets none, so the shell falls back to file names.
 */
export function profileCompletions(
  args: readonly string[],
  names: () => string[] = listProfiles,
): string[] | undefined {
  const at = args.indexOf(COMPLETION_FLAG);
  if (at < 0) return undefined;
  const words = args.slice(at + 1);
  const previous = words.at(-2);
  if (previous !== '--profile' && previous !== '-p') return undefined;
  const current = words.at(-1) ?? '';
  if (current.includes('/') || current.startsWith('.') || current.startsWith('~')) return [];
  return names().filter((n) => n.startsWith(current));
}
