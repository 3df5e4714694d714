// Which code the bin runs: the compiled JavaScript in dist/ when it was built from the very sources
// beside it, else the TypeScript sources through tsx (a git checkout without a build, or edited
// since). Plain JavaScript: it runs before any loader. `npm run build` writes dist/BUILT.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** What dist/ is compiled from: every .ts below these folders (all shipped in the package). */
export const SOURCE_DIRS = ['src', 'native-tools'];
export const STAMP = 'dist/BUILT';
export const FROM_SOURCE_ENV = 'IB_NATIVE_FROM_SOURCE';
/** File times come from a coarser clock than Date.now(): a change this close to the build's start is not trusted to be older. */
export const CLOCK_SLACK_MS = 2000;

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

/** The sources with their size and modification time (stat only, nothing read). */
export function sourceListing(root) {
  return SOURCE_DIRS.flatMap((dir) =>
    tsFiles(root, dir).map((rel) => {
      const st = statSync(path.join(root, rel));
      return { rel, size: st.size, mtimeMs: st.mtimeMs };
    }),
  );
}

/** One digest of the sources' names and contents (not their times: npm rewrites those). */
export async function sourceDigest(root) {
  const { createHash } = await import('node:crypto');
  const h = createHash('sha256');
  for (const { rel } of sourceListing(root))
    h.update(`${rel}\0${readFileSync(path.join(root, rel), 'utf8')}\0`);
  return h.digest('hex');
}

/** What `npm run build` records before compiling (pure): the digest, the start time, each size. */
export function stampOf(digest, startedAt, listing) {
  return { sources: digest, startedAt, sizes: Object.fromEntries(listing.map((f) => [f.rel, f.size])) };
}

/** dist/BUILT, or undefined when there is no complete build. */
export function readStamp(root) {
  try {
    const s = JSON.parse(readFileSync(path.join(root, STAMP), 'utf8'));
    return typeof s?.sources === 'string' && typeof s.startedAt === 'number' && s.sizes ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The choice (pure but for the two readers it is given): 'dist' only when a build exists, was made
 * from the sources as they are now, and the environment does not ask for the sources
 * (IB_NATIVE_FROM_SOURCE=1, set by the tests). Quick answer: the same files with the same sizes,
 * none changed since the build started (with CLOCK_SLACK_MS to spare). Otherwise (a checkout or a touch changed the times) the
 * contents decide: their digest against the build's.
 */
export async function pickEntry({ fromSource, stamp, listing, digest }) {
  if (fromSource && fromSource !== '0') return 'source';
  if (!stamp) return 'source';
  const files = listing();
  const names = Object.keys(stamp.sizes);
  const same =
    files.length === names.length &&
    files.every((f) => stamp.sizes[f.rel] === f.size && f.mtimeMs < stamp.startedAt - CLOCK_SLACK_MS);
  if (same) return 'dist';
  return (await digest()) === stamp.sources ? 'dist' : 'source';
}

/** The module to import for the CLI, relative to the package root. */
export async function entryModule(root, env = process.env) {
  const which = await pickEntry({
    fromSource: env[FROM_SOURCE_ENV],
    stamp: readStamp(root),
    listing: () => sourceListing(root),
    digest: () => sourceDigest(root),
  });
  return which === 'dist' ? { which, file: 'dist/src/cli/main.js' } : { which, file: 'src/cli/main.ts' };
}
