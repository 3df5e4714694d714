import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { REPO_ROOT } from '../package.ts';

/** Finding profile files by name or path (no parsing: shell completion reads this). */

export const PROFILES_DIR = path.join(REPO_ROOT, 'profiles');
export const EXTENSIONS = ['.ts', '.yaml', '.yml', '.json'];

/** Find a profile by name (in profiles/) or by path (relative to `relativeTo`). */
export function locateProfile(ref: string, relativeTo: string = process.cwd()): string {
  const looksLikePath = ref.includes('/') || EXTENSIONS.some((e) => ref.endsWith(e));
  if (looksLikePath) {
    const p = path.resolve(relativeTo, ref);
    if (!existsSync(p))
      throw new UserError(`profile file not found: ${p}`, 'check the path given to --profile or extends');
    if (!EXTENSIONS.includes(path.extname(p)))
      throw new UserError(
        `profile ${p} has an unsupported extension`,
        'use a .ts, .yaml, .yml or .json file',
      );
    return p;
  }
  for (const ext of EXTENSIONS) {
    const p = path.join(PROFILES_DIR, `${ref}${ext}`);
    if (existsSync(p)) return p;
  }
  const known = listProfiles();
  throw new UserError(
    `no profile named "${ref}"`,
    `shipped profiles: ${known.join(', ')}; or give a path to a .ts/.yaml/.json file`,
  );
}

/** Profile files in a folder (not below it), sorted; names starting with `_` are helpers, not profiles. */
export function profileFiles(dir: string = PROFILES_DIR): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => EXTENSIONS.includes(path.extname(f)) && !f.startsWith('_'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Names of the shipped profiles. */
export function listProfiles(): string[] {
  return profileFiles().map((f) => path.basename(f).replace(/\.[^.]+$/, ''));
}
