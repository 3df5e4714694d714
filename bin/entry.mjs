// Which code the bin runs: the compiled JavaScript in dist/ when it was built from the very sources
// beside it, else the TypeScript sources through tsx (a git checkout without a build, or edited
// since). Plain JavaScript: it runs before any loader. `npm run build` writes dist/BUILT.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** What dist/ is compiled from: every .ts below these folders (all shipped in the package). */
export const SOURCE_DIRS = ['src', 'native-tools'];
export const STAMP = 'dist/BUILT';
export const FROM_SOURCE_ENV = 'IB_NATIVE_FROM_SOURCE';

/** The .ts files below `dir`, as paths relative to `root`, in byte order. */
function tsFiles(root, dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...tsFiles(root, rel));
    else if (e.isFile() && e.name.endsWith('.ts')) out.push(rel);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One digest of the sources' names and contents (not their times: npm rewrites those). */
export function sourceDigest(root) {
  const h = createHash('sha256');
  for (const dir of SOURCE_DIRS)
    for (const f of tsFiles(root, dir)) h.update(`${f}\0${readFileSync(path.join(root, f), 'utf8')}\0`);
  return h.digest('hex');
}

/** The digest dist/ was built from, or undefined when there is no complete build. */
export function builtDigest(root) {
  try {
    return JSON.parse(readFileSync(path.join(root, STAMP), 'utf8')).sources;
  } catch {
    return undefined;
  }
}

/**
 * The pure choice: 'dist' only when a build exists, was made from the sources as they are now,
 * and the environment does not ask for the sources (IB_NATIVE_FROM_SOURCE=1, set by the tests).
 * `current` is a function so that nothing is read when the answer is known without it.
 */
export function pickEntry({ fromSource, built, current }) {
  if (fromSource && fromSource !== '0') return 'source';
  if (!built) return 'source';
  return built === current() ? 'dist' : 'source';
}

/** The module to import for the CLI, relative to the package root. */
export function entryModule(root, env = process.env) {
  const which = pickEntry({
    fromSource: env[FROM_SOURCE_ENV],
    built: builtDigest(root),
    current: () => sourceDigest(root),
  });
  return which === 'dist' ? { which, file: 'dist/src/cli/main.js' } : { which, file: 'src/cli/main.ts' };
}
