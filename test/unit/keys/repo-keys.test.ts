import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import { cachedKeyResolver, repoKeyResolver } from '../../../src/keys/repo-keys.ts';
import { issuesFromZod } from '../../../src/profile/load.ts';
import { repoSchema } from '../../../src/profile/schema.ts';
import { recordingRunner } from '../../../src/run/runner.ts';

const GOOD = '0123456789ABCDEF0123456789ABCDEF01234567';
const BAD = 'FEDCBA9876543210FEDCBA9876543210FEDCBA98';
const ARMOR = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF\n-----END PGP PUBLIC KEY BLOCK-----\n';
const SECRET = 'root:$y$j9T$secret-hash:19000:0:99999:7:::\n';

/** curl serves `served`; gpg lists `keys` (or nothing: not OpenPGP data, exit 2 like gpg). */
function fakeTools(served: string, keys: { kind?: 'pub' | 'sec'; fpr: string }[]) {
  return recordingRunner((argv) => {
    if (argv[0] === 'curl') {
      writeFileSync(argv[argv.indexOf('--output') + 1]!, served);
      return {};
    }
    if (argv.includes('--show-keys')) {
      if (!keys.length) return { exitCode: 2, stderr: 'gpg: no valid OpenPGP data found.\n' };
      return {
        stdout: keys
          .map((k) => `${k.kind ?? 'pub'}:-:255:22:X:1:::-:::scSC:\nfpr:::::::::${k.fpr}:\n`)
          .join(''),
      };
    }
    return {};
  });
}

const repo = (key: unknown) =>
  repoSchema.parse({
    name: 'k8s',
    url: 'http://127.0.0.1:9/k8s',
    suite: 'stable',
    key,
    packages: ['kubelet'],
  });

test('schema: key is a file or { url, fingerprint }; the fingerprint is normalised; bad ones named', () => {
  assert.is(repo('./keys/k8s.asc').key, './keys/k8s.asc');
  const spaced = '0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567';
  assert.equal(repo({ url: 'https://h/k.asc', fingerprint: spaced }).key, {
    url: 'https://h/k.asc',
    fingerprint: GOOD,
  });
  const issue = (key: unknown) => {
    const r = repoSchema.safeParse({ name: 'k8s', url: 'http://h/k8s', suite: 's', key });
    assert.not.ok(r.success);
    return issuesFromZod(r.error!.issues)
      .map((i) => `${i.path}: ${i.message}`)
      .join('\n');
  };
  assert.match(
    issue({ url: 'https://h/k.asc', fingerprint: GOOD.slice(1) }),
    /key.fingerprint: must be an OpenPGP fingerprint: 40 hex digits/,
  );
  assert.match(
    issue({ url: 'file:///etc/shadow', fingerprint: GOOD }),
    /key.url: must be an http:\/\/ or https:\/\/ URL/,
  );
  assert.match(issue({ url: 'https://h/k.asc' }), /^key.fingerprint: is required \(expected string\)$/);
  assert.match(
    issue({ url: 'https://h/k.asc', fingerprint: GOOD, sha256: 'x' }),
    /^key: unknown key "sha256"/,
  );
  assert.is(issue(5), 'key: must be string or object');
});

test('a pinned key that matches is downloaded through the proxy and cached by fingerprint', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ibn-repokeys-')), 'keys');
  const runner = fakeTools(ARMOR, [{ fpr: GOOD }]);
  const env = { http_proxy: 'http://proxy:3128' };
  const [r] = await repoKeyResolver({ runner, dir, env })([
    repo({ url: 'https://h/k.asc', fingerprint: GOOD }),
  ]);
  assert.is(r!.key, path.join(dir, `${GOOD}.asc`), 'armored content keeps .asc');
  assert.equal(readdirSync(dir), [`${GOOD}.asc`]);
  const curl = runner.calls.find((c) => c[0] === 'curl')!;
  assert.equal(curl.slice(-2), ['--', 'https://h/k.asc']);
  assert.ok(curl.includes('=http,https'), 'no other protocol, even after a redirect');
  // the next build reuses it without the network; the offline resolver finds it too
  const again = fakeTools('', [{ fpr: GOOD }]);
  await repoKeyResolver({ runner: again, dir })([repo({ url: 'https://h/k.asc', fingerprint: GOOD })]);
  assert.not.ok(again.calls.some((c) => c[0] === 'curl'));
  const [offline] = await cachedKeyResolver(dir)([repo({ url: 'https://other/k.asc', fingerprint: GOOD })]);
  assert.is(offline!.key, path.join(dir, `${GOOD}.asc`), 'cached by fingerprint, whatever the URL');
});

async function refusal(
  served: string,
  keys: { kind?: 'pub' | 'sec'; fpr: string }[],
  key: unknown,
): Promise<string> {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'ibn-repokeys-')), 'keys');
  try {
    await repoKeyResolver({ runner: fakeTools(served, keys), dir })([repo(key)]);
  } catch (e) {
    assert.instance(e, UserError);
    assert.not.ok(existsSync(dir), 'nothing written into the cache');
    return `${(e as UserError).message}\n${(e as UserError).hint}`;
  }
  assert.unreachable('not refused');
  return '';
}

test('a pinned key with another fingerprint, a secret key or no key at all is refused by field', async () => {
  const key = { url: 'https://h/k.asc', fingerprint: GOOD };
  const wrong = await refusal(ARMOR, [{ fpr: BAD }], key);
  assert.match(
    wrong,
    /^repos\[0\]\.key \(repo "k8s"\): https:\/\/h\/k.asc has fingerprint FEDC BA98 7654 3210 FEDC BA98 7654 3210 FEDC BA98, expected 0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567; refused/,
  );
  assert.match(
    await refusal('<html>moved</html>', [], key),
    /https:\/\/h\/k.asc is not an OpenPGP public key/,
  );
  assert.match(await refusal(ARMOR, [{ kind: 'sec', fpr: GOOD }], key), /holds a SECRET key/);
});

test('a key file must be an OpenPGP public key; its content is never shown', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ibn-keyfile-'));
  const shadow = path.join(dir, 'shadow');
  writeFileSync(shadow, SECRET);
  const msg = await refusal('', [], shadow);
  assert.match(
    msg,
    new RegExp(`^repos\\[0\\]\\.key \\(repo "k8s"\\): ${shadow} is not an OpenPGP public key`),
  );
  assert.not.match(msg, /secret-hash|root:/);
  assert.match(await refusal('', [], path.join(dir, 'missing.asc')), /key file .*missing.asc not found/);
  const good = path.join(dir, 'k.asc');
  writeFileSync(good, ARMOR);
  const [r] = await repoKeyResolver({ runner: fakeTools('', [{ fpr: GOOD }]), dir: path.join(dir, 'keys') })([
    repo(good),
  ]);
  assert.is(r!.key, good, 'a key file stays where it is');
  assert.not.ok(existsSync(path.join(dir, 'keys')), 'and is not copied into the cache');
});

test.run();
