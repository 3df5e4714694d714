// npm run build: compile src/ (and native-tools/tools.ts, which doctor imports) into dist/ with tsc,
// then write dist/BUILT naming the sources it was made from (digest, sizes, start time), so that the
// bin runs dist/ only while the sources are unchanged (bin/entry.mjs). The stamp is taken before
// compiling: a file edited during the build no longer matches, and the bin goes back to the sources.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP, sourceDigest, sourceListing, stampOf } from '../bin/entry.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// what the sources are as compiling starts: a file changed from now on no longer matches
const startedAt = Date.now();
const stamp = stampOf(await sourceDigest(root), startedAt, sourceListing(root));
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) {
  process.stderr.write('build: tsc failed; dist/ has no BUILT stamp, so the bin runs the sources\n');
  process.exit(r.status ?? 1);
}
mkdirSync(path.join(root, 'dist'), { recursive: true });
writeFileSync(path.join(root, STAMP), `${JSON.stringify(stamp)}\n`);
