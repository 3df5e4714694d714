import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../../src/log.ts';
import { processRunner, recordingRunner } from '../../../src/run/runner.ts';
import { asideName, discard, publish, removeTree, sha256File, sha256Text } from '../../../src/sys/files.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-files-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('asideName: a hidden partial name beside the final path, with our pid', () => {
  assert.is(asideName('/out/minimal.qcow2'), `/out/.minimal.qcow2.partial-${process.pid}`);
  assert.is(asideName('x.iso'), `.x.iso.partial-${process.pid}`);
});

test('sha256File and sha256Text agree with node:crypto', async () => {
  const f = path.join(dir, 'data');
  const content = Buffer.alloc(300_000, 7);
  writeFileSync(f, content);
  const want = createHash('sha256').update(content).digest('hex');
  assert.is(await sha256File(f), want);
  assert.is(sha256Text(content), want);
  assert.is(sha256Text(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('publish: renames into place and writes a sha256sum-format checksum beside it', async () => {
  const out = path.join(dir, 'pub');
  mkdirSync(out);
  const final = path.join(out, 'minimal.iso');
  const tmp = asideName(final);
  writeFileSync(tmp, 'image bytes');
  const sum = await publish(tmp, final);
  assert.is(sum, createHash('sha256').update('image bytes').digest('hex'));
  assert.is(readFileSync(final, 'utf8'), 'image bytes');
  assert.is(readFileSync(`${final}.sha256`, 'utf8'), `${sum}  minimal.iso\n`);
  assert.equal(readdirSync(out).sort(), ['minimal.iso', 'minimal.iso.sha256']);
  // the checksum verifies with sha256sum itself
  const r = await processRunner({ logger: silentLogger }).run(
    ['sha256sum', '--check', '--status', 'minimal.iso.sha256'],
    {
      cwd: out,
    },
  );
  assert.is(r.exitCode, 0);
});

test('publish: replaces an older file; without checksum nothing else is written', async () => {
  const out = path.join(dir, 'pub2');
  mkdirSync(out);
  const final = path.join(out, 'x.qcow2');
  writeFileSync(final, 'old');
  writeFileSync(asideName(final), 'new');
  assert.is(await publish(asideName(final), final, false), undefined);
  assert.is(readFileSync(final, 'utf8'), 'new');
  assert.equal(readdirSync(out), ['x.qcow2']);
});

test('removeTree: removes a plain tree (links are removed, not followed); a missing folder is fine', async () => {
  const outside = path.join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'keep'), '');
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'a/b/c'), { recursive: true });
  writeFileSync(path.join(tree, 'a/b/c/f'), 'x');
  symlinkSync(outside, path.join(tree, 'a/link'));
  const runner = processRunner({ logger: silentLogger });
  await removeTree(runner, tree);
  assert.not.ok(existsSync(tree));
  assert.ok(existsSync(path.join(outside, 'keep')));
  const rec = recordingRunner();
  await removeTree(rec, path.join(dir, 'never-existed'));
  assert.equal(rec.calls, []);
  mkdirSync(tree);
  await removeTree(rec, tree);
  assert.equal(rec.calls, [['rm', '-rf', '--one-file-system', '--', tree]]);
});

test('discard: removes files and folders, ignores missing ones', () => {
  const f = path.join(dir, 'd1');
  const d = path.join(dir, 'd2');
  writeFileSync(f, '');
  mkdirSync(path.join(d, 'x'), { recursive: true });
  discard(f, d, path.join(dir, 'nope'));
  assert.not.ok(existsSync(f));
  assert.not.ok(existsSync(d));
});

test.run();
