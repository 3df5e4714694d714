/** The manifest's tool version is package.json's (it was a hard-coded '0.1.0'), and its fields. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../src/distro/debian.ts';
import { manifestOf, manifestText } from '../../src/manifest.ts';
import { packageRootOf, REPO_ROOT, TOOL_VERSION, versionOf } from '../../src/package.ts';
import { resolveProfile } from '../../src/profile/resolve.ts';

const packageVersion = () =>
  (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('versionOf: the version of a package.json; one without a version string is refused', () => {
  assert.is(versionOf('{"name":"ib-native","version":"2.3.4-rc.1"}'), '2.3.4-rc.1');
  assert.throws(() => versionOf('{"name":"x"}'), /no "version"/);
  assert.throws(() => versionOf('{"version":3}'), /no "version"/);
  assert.is(TOOL_VERSION, packageVersion());
});

test('packageRootOf: the nearest folder with a package.json, from the sources or from dist/src', () => {
  const has = new Set(['/pkg/package.json']);
  const exists = (p: string) => has.has(p);
  assert.is(packageRootOf('/pkg/src/profile', exists), '/pkg');
  assert.is(packageRootOf('/pkg/dist/src/profile', exists), '/pkg');
  assert.is(packageRootOf('/pkg', exists), '/pkg');
  assert.is(packageRootOf('/elsewhere/x', exists), '/elsewhere/x');
  assert.is(REPO_ROOT, path.resolve(import.meta.dirname, '../..'));
});

test("manifestOf: ibNative is package.json's version; fields in their order; builtAt from seconds", async () => {
  const profile = await resolveProfile('minimal', { distro: 'debian-bookworm' });
  const m = manifestOf({
    profile,
    distro: debianBookworm,
    rootfsKey: 'k1',
    kernel: '6.1.0-1-amd64',
    packages: [{ name: 'bash', version: '5.2', architecture: 'amd64', source: 'bash', sourceVersion: '5.2' }],
    outputs: [{ format: 'iso', path: '/out/minimal.iso', sha256: 'ab', bytes: 3 }],
    hostTools: { xorriso: '1.5' },
    stages: { rootfs: 1.5 },
    cacheHits: { rootfs: true },
    builtAt: 1_700_000_000,
  });
  assert.is(m.ibNative, packageVersion());
  assert.equal(Object.keys(m), [
    'ibNative',
    'profile',
    'distro',
    'rootfsKey',
    'kernel',
    'packages',
    'outputs',
    'hostTools',
    'stages',
    'cacheHits',
    'builtAt',
  ]);
  assert.equal(m.outputs, [{ format: 'iso', file: 'minimal.iso', sha256: 'ab', bytes: 3 }]);
  assert.is(m.builtAt, '2023-11-14T22:13:20.000Z');
  assert.is((m.profile as { name: string }).name, 'minimal');
  assert.ok(manifestText(m).endsWith('}\n'));
  const input = { profile, distro: debianBookworm, rootfsKey: 'k', kernel: undefined, packages: [] };
  const rest = { outputs: [], hostTools: {}, stages: {}, cacheHits: {}, builtAt: 0 };
  assert.is(manifestOf({ ...input, ...rest, version: '9.9.9' }).ibNative, '9.9.9');
});

test.run();
