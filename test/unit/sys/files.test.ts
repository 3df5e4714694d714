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
import {
  asideName,
  discard,
  Publication,
  removeTree,
  sha256File,
  sha256Text,
} from '../../../src/sys/files.ts';

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

test('Publication: nothing reaches the final names before commit; commit publishes all, checksums verify', async () => {
  const out = path.join(dir, 'pub');
  mkdirSync(out);
  const final = path.join(out, 'minimal.iso');
  writeFileSync(final, 'previous image');
  writeFileSync(`${final}.asc`, 'signature of the previous image');
  const pub = new Publication();
  writeFileSync(pub.aside(final), 'image bytes');
  const sum = await pub.checksum(final);
  pub.write(path.join(out, 'minimal.manifest.json'), '{}\n');
  pub.dropAtCommit(`${final}.asc`);
  assert.is(sum, createHash('sha256').update('image bytes').digest('hex'));
  assert.is(readFileSync(final, 'utf8'), 'previous image', 'published before commit');
  assert.equal(
    readdirSync(out).filter((n) => !n.startsWith('.')),
    ['minimal.iso', 'minimal.iso.asc'],
  );
  assert.equal(
    pub.commit().sort(),
    [final, path.join(out, 'minimal.manifest.json'), `${final}.sha256`].sort(),
  );
  assert.equal(readdirSync(out).sort(), ['minimal.iso', 'minimal.iso.sha256', 'minimal.manifest.json']);
  assert.is(readFileSync(`${final}.sha256`, 'utf8'), `${sum}  minimal.iso\n`);
  // the checksum verifies with sha256sum itself
  const r = await processRunner({ logger: silentLogger }).run(
    ['sha256sum', '--check', '--status', 'minimal.iso.sha256'],
    { cwd: out },
  );
  assert.is(r.exitCode, 0);
});

test('Publication: discard removes what was staged and leaves the previous files; a missing aside fails commit whole', () => {
  const out = path.join(dir, 'pub2');
  mkdirSync(out);
  const final = path.join(out, 'x.qcow2');
  writeFileSync(final, 'old');
  const pub = new Publication();
  pub.write(final, 'new');
  pub.write(path.join(out, 'x.manifest.json'), '{}');
  pub.discard();
  assert.equal(readdirSync(out), ['x.qcow2']);
  assert.is(readFileSync(final, 'utf8'), 'old');
  const half = new Publication();
  half.write(path.join(out, 'x.manifest.json'), '{}');
  half.aside(final); // never written
  assert.throws(() => half.commit(), /nothing was written/);
  assert.equal(
    readdirSync(out).filter((n) => !n.startsWith('.')),
    ['x.qcow2'],
  );
  half.discard();
  assert.equal(readdirSync(out), ['x.qcow2']);
});

test('Publication: a folder output (pxe) replaces its previous version at commit; its .sha256 lists its files', async () => {
  const out = path.join(dir, 'pub3');
  const final = path.join(out, 'w.pxe');
  mkdirSync(path.join(final), { recursive: true });
  writeFileSync(path.join(final, 'vmlinuz'), 'old kernel');
  writeFileSync(path.join(final, 'gone'), 'only in the old version');
  const pub = new Publication();
  const aside = pub.aside(final);
  mkdirSync(path.join(aside, 'sub'), { recursive: true });
  writeFileSync(path.join(aside, 'vmlinuz'), 'new kernel');
  writeFileSync(path.join(aside, 'boot.ipxe'), '#!ipxe\n');
  writeFileSync(path.join(aside, 'sub', 'f'), 'f');
  const sum = await pub.checksum(final);
  assert.is(readFileSync(path.join(final, 'vmlinuz'), 'utf8'), 'old kernel', 'published before commit');
  pub.commit();
  assert.equal(readdirSync(out).sort(), ['w.pxe', 'w.pxe.sha256']);
  assert.equal(readdirSync(final).sort(), ['boot.ipxe', 'sub', 'vmlinuz']);
  assert.is(readFileSync(path.join(final, 'vmlinuz'), 'utf8'), 'new kernel');
  const list = readFileSync(`${final}.sha256`, 'utf8');
  assert.equal(
    list.split('\n').map((l) => l.split('  ')[1]),
    ['w.pxe/boot.ipxe', 'w.pxe/sub/f', 'w.pxe/vmlinuz', undefined],
  );
  assert.is(sum, sha256Text(list));
  const r = await processRunner({ logger: silentLogger }).run(
    ['sha256sum', '--check', '--status', 'w.pxe.sha256'],
    {
      cwd: out,
    },
  );
  assert.is(r.exitCode, 0);
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
