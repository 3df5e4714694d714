/**
 * The bin's choice between the compiled dist/ and the TypeScript sources (bin/entry.mjs): dist/ only
 * when its stamp names the sources as they are now, so a stale or half-made build never runs.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CLOCK_SLACK_MS,
  entryModule,
  pickEntry,
  readStamp,
  type SourceFile,
  STAMP,
  sourceDigest,
  sourceListing,
  stampOf,
} from '../../../bin/entry.mjs';

let root = '';
const write = (rel: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
};
const setTime = (rel: string, ms: number) => utimesSync(path.join(root, rel), ms / 1000, ms / 1000);
const BUILT_AT = Date.parse('2026-01-01T00:00:00Z');
const BEFORE = BUILT_AT - 60_000;

/** A package with two sources last changed a minute before its build started. */
async function builtPackage(): Promise<void> {
  root = mkdtempSync(path.join(os.tmpdir(), 'ib-entry-'));
  write('src/cli/main.ts', 'export const a = 1;\n');
  write('native-tools/tools.ts', 'export const b = 2;\n');
  setTime('src/cli/main.ts', BEFORE);
  setTime('native-tools/tools.ts', BEFORE);
  write(STAMP, JSON.stringify(stampOf(await sourceDigest(root), BUILT_AT, sourceListing(root))));
}
const which = async (env: Record<string, string> = {}) => (await entryModule(root, env)).which;

test.after.each(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = '';
});

test('pickEntry: the quick answer from names, sizes and times; the digest only when they differ', async () => {
  const files: SourceFile[] = [{ rel: 'src/a.ts', size: 3, mtimeMs: 1000 }];
  const stamp = { sources: 'abc', startedAt: 1000 + CLOCK_SLACK_MS + 1, sizes: { 'src/a.ts': 3 } };
  const never = () => assert.unreachable('not needed') as never;
  const pick = (o: Partial<Parameters<typeof pickEntry>[0]>) =>
    pickEntry({ fromSource: undefined, stamp, listing: () => files, digest: never, ...o });
  assert.is(await pick({}), 'dist');
  assert.is(await pick({ fromSource: '' }), 'dist');
  assert.is(await pick({ fromSource: '0' }), 'dist');
  // asked for the sources, or never built: nothing is read
  assert.is(await pick({ fromSource: '1', listing: never }), 'source');
  assert.is(await pick({ stamp: undefined, listing: never }), 'source');
  // changed within the clock's slack before the build: the contents decide
  const late = [{ ...files[0]!, mtimeMs: stamp.startedAt - 1 }];
  assert.is(await pick({ listing: () => late, digest: async () => 'abc' }), 'dist');
  assert.is(await pick({ listing: () => late, digest: async () => 'new' }), 'source');
  // another size, another file list: the contents decide
  assert.is(await pick({ listing: () => [{ ...files[0]!, size: 4 }], digest: async () => 'x' }), 'source');
  assert.is(await pick({ listing: () => [], digest: async () => 'x' }), 'source');
});

test('entryModule: a fresh build runs dist/; the sources when asked', async () => {
  await builtPackage();
  assert.equal(await entryModule(root, {}), { which: 'dist', file: 'dist/src/cli/main.js' });
  assert.equal(await entryModule(root, { IB_NATIVE_FROM_SOURCE: '1' }), {
    which: 'source',
    file: 'src/cli/main.ts',
  });
});

test("entryModule: an edited, added or removed source makes the build stale; the quick answer's limit", async () => {
  await builtPackage();
  write('src/cli/main.ts', 'export const a = 3;\n');
  assert.is(await which(), 'source');
  // the limit of the quick answer: a change of the same size given an older time (a copy that kept
  // times) is trusted; a checkout or an editor gives the time of the change
  await builtPackage();
  write('src/cli/main.ts', 'export const a = 9;\n');
  setTime('src/cli/main.ts', BEFORE);
  assert.is(await which(), 'dist', 'quick answer: same names, sizes and old times');
  await builtPackage();
  write('src/extra.ts', '\n');
  assert.is(await which(), 'source');
  await builtPackage();
  rmSync(path.join(root, 'native-tools/tools.ts'));
  assert.is(await which(), 'source');
});

test('entryModule: new times with the same contents (npm, a checkout, touch) keep dist/', async () => {
  await builtPackage();
  const npmTime = Date.parse('1985-10-26T08:15:00Z');
  setTime('src/cli/main.ts', npmTime);
  setTime(STAMP, npmTime);
  assert.is(await which(), 'dist');
  setTime('src/cli/main.ts', Date.now());
  assert.is(await which(), 'dist', 'touched, not changed');
  // other files than .ts sources are not what dist/ is made from
  write('src/notes.md', 'x');
  assert.is(await which(), 'dist');
});

test('entryModule: no stamp (never built, or tsc failed) or an unreadable one runs the sources', async () => {
  await builtPackage();
  rmSync(path.join(root, STAMP));
  assert.is(readStamp(root), undefined);
  assert.is(await which(), 'source');
  write(STAMP, 'not json');
  assert.is(await which(), 'source');
  write(STAMP, '{"sources":"abc"}');
  assert.is(await which(), 'source');
});

test.run();
