import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the package is, and its version: the same from the sources (src/package.ts) and from the
 * compiled code (dist/src/package.js), which sit at different depths below the package root.
 * Imports nothing heavy: the CLI's start-up path reads it.
 */

/** The nearest folder at or above `from` that holds a package.json (`from` itself when none does). */
export function packageRootOf(from: string, exists: (p: string) => boolean = existsSync): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (exists(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

export const REPO_ROOT = packageRootOf(path.dirname(fileURLToPath(import.meta.url)));

/** The `version` of a package.json's text; refuses one without a version string. */
export function versionOf(packageJson: string): string {
  const { version } = JSON.parse(packageJson) as { version?: unknown };
  if (typeof version !== 'string' || !version) throw new Error('package.json has no "version" string');
  return version;
}

/** ib-native's version, as package.json declares it (in manifests and SBOMs). */
export const TOOL_VERSION = versionOf(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
