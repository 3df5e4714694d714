/**
 * The bin's choice between the compiled dist/ and the TypeScript sources (bin/entry.mjs): dist/ only
 * when its stamp names the sources as they are now, so a stale or half-made build never runs.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtDigest, entryModule, pickEntry, STAMP, sourceDigest } from '../../../bin/entry.mjs';

let root = '';
const write = (rel: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
};
/** A package with two sources, built: the stamp names the sources as they are. */
function builtPackage(): void {
  root = mkdtempSync(path.join(os.tmpdir(), 'ib-entry-'));
  write('src/cli/main.ts', 'export const a = 1;\n');
  write('native-tools/tools.ts', 'export const b = 2;\n');
  write(STAMP, `${JSON.stringify({ sources: sourceDigest(root) })}\n`);
}

test.after.each(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

test('pickEntry: dist only when built from the current sources and not asked for the sources', () => {
  const current = () => 'abc';
  assert.is(pickEntry({ fromSource: undefined, built: 'abc', current }), 'dist');
  assert.is(pickEntry({ fromSource: '0', built: 'abc', current }), 'dist');
  assert.is(pickEntry({ fromSource: '', built: 'abc', current }), 'dist');
  assert.is(pickEntry({ fromSource: undefined, built: 'old', current }), 'source');
  assert.is(pickEntry({ fromSource: undefined, built: undefined, current }), 'source');
  assert.is(pickEntry({ fromSource: '1', built: 'abc', current }), 'source');
  // nothing is read when the answer is known without the sources' digest
  const never = () => assert.unreachable('digest computed') as never;
  assert.is(pickEntry({ fromSource: '1', built: 'abc', current: never }), 'source');
  assert.is(pickEntry({ fromSource: undefined, built: undefined, current: never }), 'source');
});

test('entryModule: a fresh build runs dist/; the sources when asked', () => {
  builtPackage();
  assert.equal(entryModule(root, {}), { which: 'dist', file: 'dist/src/cli/main.js' });
  assert.equal(entryModule(root, { IB_NATIVE_FROM_SOURCE: '1' }), {
    which: 'source',
    file: 'src/cli/main.ts',
  });
});

test('entryModule: an edited, added or removed source makes the build stale', () => {
  builtPackage();
  write('src/cli/main.ts', 'export const a = 3;\n');
  assert.is(entryModule(root, {}).which, 'source');
  builtPackage();
  write('src/extra.ts', '\n');
  assert.is(entryModule(root, {}).which, 'source');
  builtPackage();
  rmSync(path.join(root, 'native-tools/tools.ts'));
  assert.is(entryModule(root, {}).which, 'source');
});

test('entryModule: no stamp (never built, or tsc failed) or an unreadable one runs the sources', () => {
  builtPackage();
  rmSync(path.join(root, STAMP));
  assert.is(builtDigest(root), undefined);
  assert.is(entryModule(root, {}).which, 'source');
  write(STAMP, 'not json');
  assert.is(entryModule(root, {}).which, 'source');
});

test('entryModule: file times do not matter (npm pack rewrites them), only names and contents', () => {
  builtPackage();
  const old = new Date('1985-10-26T08:15:00Z');
  utimesSync(path.join(root, 'src/cli/main.ts'), old, old);
  utimesSync(path.join(root, STAMP), old, old);
  assert.is(entryModule(root, {}).which, 'dist');
  // other files than .ts sources are not what dist/ is made from
  write('src/notes.md', 'x');
  assert.is(entryModule(root, {}).which, 'dist');
});

test.run();
