/**
 * Issue 10, repo keys: a repo key given as `{ url, fingerprint }` is downloaded from a signed test
 * repo on 127.0.0.1 (its public key served beside it) before any bootstrapping. A wrong
 * fingerprint is refused with exit 2 naming repos[0].key, the expected and the found fingerprint,
 * and nothing is written (cache and output folders unchanged). The right one passes the input
 * checks (`ib-native plan`, which needs no rootfs) and is cached by fingerprint; the rootfs key is
 * the same as with the same key given as a file. A key file that is not a key (/etc/shadow) is
 * refused without its content appearing anywhere.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildFakeDeb,
  ensureSigningKey,
  indexAndSign,
  publishPublicKey,
  type ServedRepo,
  serveRepo,
  stopGpgAgent,
} from '../helpers/apt-repo.ts';
import { childProfile, treeListing } from '../helpers/bad-input.ts';
import { cli, DISTRO, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('repo-keys');
const CACHE = path.join(DIR, 'cache');
const OUT = path.join(DIR, 'out');
const GNUPG = path.join(DIR, 'gnupg');
const ROOT = path.join(DIR, 'repo');
let served: ServedRepo;
let fpr = '';
let keyRel = '';

const run = (args: string[]) => cli(args, { cache: CACHE, timeoutMs: 180_000 });

const repoProfile = (name: string, key: string) =>
  childProfile(
    DIR,
    name,
    `repos: [{ name: 'ibtest', url: '${served.url}', suite: 'stable', key: ${key}, packages: ['ib-native-hello'] }]`,
  );

/** Spaced and lower case, as a user may copy it: the schema normalises it. */
const spaced = (f: string) =>
  f
    .toLowerCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(path.join(CACHE, 'logs'), { recursive: true });
  mkdirSync(OUT, { recursive: true });
  fpr = await ensureSigningKey(GNUPG);
  await buildFakeDeb(
    {
      name: 'ib-native-hello',
      version: '1.0',
      description: 'test package',
      files: { '/usr/share/doc/ib-native-hello/README': { content: 'hello\n', mode: 0o644 } },
    },
    path.join(DIR, 'debwork'),
    path.join(ROOT, 'pool'),
  );
  await indexAndSign({ root: ROOT, suite: 'stable', component: 'main' }, GNUPG, fpr);
  keyRel = await publishPublicKey(GNUPG, fpr, ROOT);
  served = await serveRepo(ROOT);
});

test.after(async () => {
  await served?.close();
  await stopGpgAgent(GNUPG);
});

test('a wrong fingerprint is refused before bootstrapping: exit 2, field and both fingerprints named, nothing written', async () => {
  const wrong = 'ABCD'.repeat(10);
  const profile = repoProfile('wrong-fpr', `{ url: '${served.url}${keyRel}', fingerprint: '${wrong}' }`);
  const before = { cache: treeListing(CACHE), out: treeListing(OUT) };
  const r = await run(['build', '--profile', profile, '--distro', DISTRO, '--output', OUT]);
  assert.is(r.exitCode, 2, r.all.slice(-2000));
  assert.match(
    r.stderr,
    /^error: repos\[0\]\.key \(repo "ibtest"\): http:\/\/127\.0\.0\.1:\d+\/keys\/repo\.asc has fingerprint /m,
  );
  assert.ok(
    r.stderr.includes(fpr.replace(/(.{4})(?=.)/g, '$1 ')),
    `the found fingerprint is named:\n${r.stderr}`,
  );
  assert.ok(r.stderr.includes(`expected ${'ABCD '.repeat(9)}ABCD`), `the expected one too:\n${r.stderr}`);
  assert.match(r.stderr, /^hint: \S/m);
  assert.ok(served.requests.includes(`GET /${keyRel}`), 'the key was downloaded');
  assert.not.ok(
    served.requests.some((q) => q.includes('/dists/')),
    'no bootstrapping or apt ran',
  );
  assert.equal(treeListing(CACHE), before.cache, 'the cache is unchanged (no key, no rootfs, no log)');
  assert.equal(treeListing(OUT), before.out, 'the output folder is unchanged');
});

test('the right fingerprint passes the input checks, is cached by fingerprint, and keys the rootfs by content', async () => {
  const byUrl = repoProfile('right-fpr', `{ url: '${served.url}${keyRel}', fingerprint: '${spaced(fpr)}' }`);
  const r = await run(['plan', '--profile', byUrl, '--distro', DISTRO, '--json']);
  assert.is(r.exitCode, 0, r.all.slice(-2000));
  const rootfs = JSON.parse(r.stdout).stages[0];
  assert.equal(rootfs.repos, ['ibtest']);
  const cached = readdirSync(path.join(CACHE, 'keys'));
  assert.equal(cached, [`${fpr}.asc`]);
  assert.is(
    readFileSync(path.join(CACHE, 'keys', `${fpr}.asc`), 'utf8'),
    readFileSync(path.join(ROOT, keyRel), 'utf8'),
    'the served key, verbatim',
  );
  const byFile = repoProfile('key-file', `'${path.join(ROOT, keyRel)}'`);
  const f = await run(['plan', '--profile', byFile, '--distro', DISTRO, '--json']);
  assert.is(f.exitCode, 0, f.all.slice(-2000));
  assert.is(JSON.parse(f.stdout).stages[0].key, rootfs.key, 'same key content, same rootfs key');
});

test('a key file that is not an OpenPGP key (/etc/shadow) is refused without showing its content', async () => {
  const profile = repoProfile('shadow-key', `'/etc/shadow'`);
  const r = await run(['plan', '--profile', profile, '--distro', DISTRO]);
  assert.is(r.exitCode, 2, r.all.slice(-2000));
  assert.match(
    r.stderr,
    /^error: repos\[0\]\.key \(repo "ibtest"\): \/etc\/shadow is not an OpenPGP public key/m,
  );
  const shadowLines = readFileSync('/etc/shadow', 'utf8')
    .split('\n')
    .map((l) => l.split(':').slice(0, 2).join(':'))
    .filter((l) => l.length > 8);
  for (const l of shadowLines) assert.not.ok(r.all.includes(l), 'a line of /etc/shadow was shown');
});

test.run();
