/**
 * Issue 4: the rootfs cache key covers exactly the inputs that decide the rootfs — every kind of
 * such input changes it, and a configuration-only change does not.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultBootstrapper, planBuild } from '../../../src/build.ts';
import { REPO_ROOT } from '../../../src/package.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ibn-keys-'));
const keyFile = path.join(dir, 'repo.asc');
writeFileSync(keyFile, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n');

let n = 0;
async function keyOf(
  extra: string,
  opts: { mirror?: string; bootstrapper?: 'debootstrap' | 'mmdebstrap' } = {},
) {
  const file = path.join(dir, `p${n++}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: 'k', extends: '${path.join(REPO_ROOT, 'profiles/minimal.ts')}', distro: 'debian-bookworm', ${extra} });\n`,
  );
  const plan = await planBuild(file, { mirror: opts.mirror }, dir, opts.bootstrapper ?? 'debootstrap');
  return plan.rootfsKey;
}

const repo = (extra = '') =>
  `repos: [{ name: 'extra', url: 'http://127.0.0.1:9/r', suite: 'stable', key: './repo.asc', packages: ['jq'] ${extra}}]`;

test('every rootfs input changes the key; configuration does not', async () => {
  const base = await keyOf('');
  assert.is(await keyOf(''), base, 'the key is not stable');
  const changed: Record<string, string> = {
    package: await keyOf(`packages: ['jq']`),
    'package pin': await keyOf(`packages: ['less=590-2']`),
    blocked: await keyOf(`blockedPackages: ['unattended-upgrades', 'nano']`),
    mirror: await keyOf('', { mirror: 'http://127.0.0.1:9/debian' }),
    bootstrapper: await keyOf('', { bootstrapper: 'mmdebstrap' }),
    repo: await keyOf(repo()),
    kubernetes: await keyOf(
      `kubernetes: { version: '1.31', mirror: 'http://127.0.0.1:9/', key: './repo.asc' }`,
    ),
    distro: await (async () => {
      const file = path.join(dir, 'focal.ts');
      writeFileSync(
        file,
        `export default { name: 'k', extends: '${path.join(REPO_ROOT, 'profiles/minimal.ts')}', distro: 'ubuntu-focal' };\n`,
      );
      return (await planBuild(file, {}, dir, 'debootstrap')).rootfsKey;
    })(),
  };
  for (const [what, key] of Object.entries(changed))
    assert.is.not(key, base, `${what} did not change the key`);
  const k8s = (v: string) =>
    keyOf(`kubernetes: { version: '${v}', mirror: 'http://127.0.0.1:9/', key: './repo.asc' }`);
  // another minor is another repo; another patch of the same minor only another pin
  assert.is.not(await k8s('1.30'), changed.kubernetes, 'kubernetes minor');
  assert.is.not(await k8s('1.31.2'), changed.kubernetes, 'kubernetes patch pin');
  assert.is(await k8s('1.31'), changed.kubernetes, 'the kubernetes key is not stable');
  const withRepo = changed.repo!;
  assert.is.not(await keyOf(repo(", suite: 'testing'")), withRepo, 'repo suite');
  writeFileSync(
    keyFile,
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nBBBB\n-----END PGP PUBLIC KEY BLOCK-----\n',
  );
  assert.is.not(await keyOf(repo()), withRepo, 'the repo key content did not change the key');
  // configuration only: same rootfs
  assert.is(await keyOf(`sysctl: { 'kernel.pid_max': '123456' }`), base, 'sysctl changed the rootfs key');
  assert.is(await keyOf(`files: [{ path: '/etc/x', content: 'y' }]`), base, 'a file changed the rootfs key');
  assert.is(await keyOf(`hostname: 'node1'`), base, 'hostname changed the rootfs key');
});

test('mmdebstrap is the default bootstrapper when installed, debootstrap otherwise; the choice is in the rootfs key', async () => {
  assert.is(
    defaultBootstrapper((c) => c === 'mmdebstrap'),
    'mmdebstrap',
  );
  assert.is(
    defaultBootstrapper(() => false),
    'debootstrap',
  );
  const mm = await planBuild('minimal', { distro: 'debian-bookworm' }, REPO_ROOT, 'mmdebstrap');
  const deb = await planBuild('minimal', { distro: 'debian-bookworm' }, REPO_ROOT, 'debootstrap');
  assert.is(mm.rootfs.bootstrapper, 'mmdebstrap');
  assert.is.not(mm.rootfsKey, deb.rootfsKey);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
