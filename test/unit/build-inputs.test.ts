import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkCacheDirChars,
  checkFolderFlag,
  checkRemoteCache,
  checkZstdWriter,
} from '../../src/build-inputs.ts';
import { HostNotReadyError, UserError } from '../../src/errors.ts';
import { recordingRunner } from '../../src/run/runner.ts';

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

test('a folder flag accepts a folder, a link to one, or a path that can become one, and writes nothing', () => {
  const accepted = (flag: string, d: string) =>
    assert.not.throws(() => checkFolderFlag(flag, d), `${flag} ${d}`);
  accepted('--output', dir);
  accepted('--output', path.join(dir, 'new/deeper'));
  const link = path.join(dir, 'link');
  symlinkSync(dir, link);
  accepted('--cache-dir', link);
  accepted('--cache-dir', path.join(link, 'sub'));
  // a check before any work: the folders are made by the build, not by the check
  assert.equal(readdirSync(dir).sort(), ['file', 'link']);
  // the same calls on a file's path are refused: the check looks at what is there
  assert.throws(() => checkFolderFlag('--output', file), /is a file, not a folder/);
});

test('a folder flag naming a file, or a path below a file, is a user error with a hint', () => {
  const a = rejection(() => checkFolderFlag('--output', file));
  assert.match(a.message, /^--output .*file is a file, not a folder$/);
  assert.match(a.hint ?? '', /give --output a folder/);
  const b = rejection(() => checkFolderFlag('--cache-dir', path.join(file, 'sub')));
  assert.match(b.message, /^--cache-dir .*file\/sub cannot be created: .*file is a file$/);
});

test('a cache folder whose path would break overlay options or hook words is a user error', () => {
  for (const [dir, ch] of [
    ['/srv/cache,upperdir=/x', ','],
    ['/srv/a:b', ':'],
    ['/srv/my cache', ' '],
    ['/srv/tab\there', '\t'],
  ] as const) {
    const e = rejection(() => checkCacheDirChars(dir));
    assert.is(
      e.message,
      `--cache-dir ${JSON.stringify(dir)} contains ${JSON.stringify(ch)}, which overlay mount options cannot carry`,
    );
    assert.match(e.hint ?? '', /letters, digits/);
  }
  assert.not.throws(() => checkCacheDirChars('/var/cache/ib-native-test/x_y.z-1'));
});

test('--cache-from/--cache-to: a registry repository, a cache to fill, and skopeo, or a clear refusal', () => {
  const have = () => '/usr/bin/skopeo';
  assert.not.throws(() => checkRemoteCache({}, () => undefined), 'asked for skopeo without the flags');
  assert.not.throws(() =>
    checkRemoteCache({ cacheFrom: '127.0.0.1:5000/c', cacheTo: 'reg.example.com/c' }, have),
  );
  const bad = rejection(() => checkRemoteCache({ cacheTo: 'ib-native/cache' }, have));
  assert.match(bad.message, /^--cache-to "ib-native\/cache" .*registry host/);
  assert.match(bad.hint ?? '', /127.0.0.1:5000\/ib-native\/cache/);
  assert.match(
    rejection(() => checkRemoteCache({ cacheFrom: 'reg.example.com/c', noCache: true }, have)).message,
    /--cache-from and --no-cache were both given/,
  );
  const host = rejection(() => checkRemoteCache({ cacheFrom: 'reg.example.com/c' }, () => undefined));
  assert.instance(host, HostNotReadyError);
  assert.match(host.message, /--cache-from needs skopeo/);
});

test('a zstd QCOW2 on a host whose qemu-img is older than 5.1 is refused before any work; zlib asks nothing', async () => {
  const focal =
    'qemu-img version 4.2.1 (Debian 1:4.2-3ubuntu6.30)\nCopyright (c) 2003-2019 Fabrice Bellard\n';
  const old = recordingRunner(() => ({ stdout: focal }));
  let e: unknown;
  try {
    await checkZstdWriter(old, ['site-a', 'site-b']);
  } catch (err) {
    e = err;
  }
  assert.instance(e, HostNotReadyError);
  assert.is(
    (e as HostNotReadyError).message,
    "qcow2.compressionType 'zstd' (profile site-a, site-b) needs qemu-img 5.1 or later; this host has qemu-img version 4.2.1 (Debian 1:4.2-3ubuntu6.30)",
  );
  assert.match((e as HostNotReadyError).hint ?? '', /leave qcow2.compressionType out \(zlib/);
  assert.equal(old.calls, [['qemu-img', '--version']]);
  // a new enough qemu-img passes; no zstd profile runs nothing
  await checkZstdWriter(
    recordingRunner(() => ({ stdout: 'qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7)' })),
    ['a'],
  );
  const none = recordingRunner(() => ({ stdout: focal }));
  await checkZstdWriter(none, []);
  assert.equal(none.calls, []);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
