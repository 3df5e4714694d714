import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkFolderFlag } from '../../src/build-inputs.ts';
import { UserError } from '../../src/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ibn-inputs-'));
const file = path.join(dir, 'file');
writeFileSync(file, 'x');

function rejection(fn: () => void): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('not rejected');
}

test('a folder flag accepts a folder or a path that can become one', () => {
  checkFolderFlag('--output', dir);
  checkFolderFlag('--output', path.join(dir, 'new/deeper'));
});

test('a folder flag naming a file, or a path below a file, is a user error with a hint', () => {
  const a = rejection(() => checkFolderFlag('--output', file));
  assert.match(a.message, /^--output .*file is a file, not a folder$/);
  assert.match(a.hint ?? '', /give --output a folder/);
  const b = rejection(() => checkFolderFlag('--cache-dir', path.join(file, 'sub')));
  assert.match(b.message, /^--cache-dir .*file\/sub cannot be created: .*file is a file$/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
