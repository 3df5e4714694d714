import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DPKG_INSTALLED_ARGV,
  parseInstalled,
  parsePrintUris,
  printUrisArgv,
  staleCachedDebs,
} from '../../../src/stages/package-cache.ts';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

test('parsePrintUris reads file, size and SHA256; epochs stay escaped as in the archives folder', () => {
  const out = [
    `'http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53080 SHA256:${H1.toUpperCase()}`,
    `'http://127.0.0.1:47123/pool/main/k/kubelet_1.21.2-00_amd64.deb' kubelet_1%3a1.21.2-00_amd64.deb 1004 SHA256:${H2}`,
    '',
  ].join('\n');
  assert.equal(parsePrintUris(out), [
    { file: 'hello_2.10-3_amd64.deb', size: 53080, sha256: H1 },
    { file: 'kubelet_1%3a1.21.2-00_amd64.deb', size: 1004, sha256: H2 },
  ]);
});

test('parsePrintUris skips lines with weaker or no hashes and apt chatter', () => {
  const out = [
    "'http://x/pool/a_1_amd64.deb' a_1_amd64.deb 10 MD5Sum:d04c2e9639dee67aa836d8232b1ca658",
    "'http://x/pool/b_1_amd64.deb' b_1_amd64.deb 10",
    'Reading package lists...',
    "'http://x/dists/stable/InRelease' stable_InRelease 0 ",
  ].join('\n');
  assert.equal(parsePrintUris(out), []);
});

test('staleCachedDebs names only cached files whose hash differs from the index', () => {
  const indexed = [
    { file: 'same_1_amd64.deb', size: 1, sha256: H1 },
    { file: 'changed_1_amd64.deb', size: 1, sha256: H1 },
    { file: 'absent_1_amd64.deb', size: 1, sha256: H1 },
  ];
  const cached = new Map([
    ['same_1_amd64.deb', H1],
    ['changed_1_amd64.deb', H2],
    ['unrelated_1_amd64.deb', H2],
  ]);
  assert.equal(staleCachedDebs(indexed, cached), ['changed_1_amd64.deb']);
});

test('printUrisArgv forces SHA256 and an empty archives folder so every package is listed', () => {
  const argv = printUrisArgv(['kubelet', 'zstd'], '/run/x');
  assert.equal(argv.slice(0, 4), ['apt-get', '-qq', '-y', '--print-uris']);
  assert.ok(argv.includes('Acquire::ForceHash=SHA256'));
  assert.ok(argv.includes('Dir::Cache::Archives=/run/x'));
  assert.ok(argv.includes('--no-install-recommends'));
  assert.equal(argv.slice(-3), ['install', 'kubelet', 'zstd']);
});

test('the base check lists installed packages at their versions, reinstalled so apt prints each', () => {
  // dpkg-query output (DPKG_INSTALLED_ARGV's format): only fully installed packages count
  const out = [
    'ii apt:amd64=2.6.1',
    'ii busybox:amd64=1:1.35.0-4+deb12u1+b1',
    'rc old-conf:amd64=1.0',
    'iU half:amd64=2.0',
    '',
  ].join('\n');
  assert.equal(parseInstalled(out), ['apt:amd64=2.6.1', 'busybox:amd64=1:1.35.0-4+deb12u1+b1']);
  assert.match(DPKG_INSTALLED_ARGV.at(-1)!, /^\$\{db:Status-Abbrev\}/);
  const argv = printUrisArgv(['apt:amd64=2.6.1'], '/run/x', true);
  assert.ok(argv.includes('--reinstall'));
  assert.not.ok(printUrisArgv(['apt'], '/run/x').includes('--reinstall'));
  assert.equal(argv.slice(-2), ['install', 'apt:amd64=2.6.1']);
});

test.run();
