import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../../src/errors.ts';
import { jsonPointer, provenanceMap } from '../../../src/profile/merge.ts';
import {
  CHAIN_ORIGIN,
  DEFAULT_ORIGIN,
  finishProfile,
  mergeChain,
  OVERRIDE_ORIGIN,
  type ProfileLayer,
  resolveProfileTraced,
} from '../../../src/profile/resolve.ts';
import type { Profile } from '../../../src/profile/schema.ts';

const layer = (file: string, profile: Record<string, unknown>): ProfileLayer => ({
  file,
  profile: profile as Profile,
});

const GRAND = layer('grand.ts', {
  name: 'grand',
  distro: 'debian-bookworm',
  packages: ['vim', 'curl'],
  sysctl: { 'vm.swappiness': 10, 'net.core.somaxconn': 1024 },
  files: [
    { path: '/etc/one', content: '1' },
    { path: '/etc/two', content: '2' },
  ],
  grub: { timeout: 5, cmdline: ['console=tty0'] },
});
const PARENT = layer('parent.yaml', {
  name: 'parent',
  extends: 'grand.ts',
  packages: ['jq', 'curl=7.88'],
  sysctl: { 'vm.swappiness': 1 },
  files: [{ path: '/etc/two', content: 'two' }],
});
const CHILD = layer('child.json', {
  name: 'child',
  extends: 'parent.yaml',
  grub: { cmdline: ['quiet'] },
  remove: { packages: ['vim'], sysctl: ['net.core.somaxconn'], files: ['/etc/one'] },
});

test('values set in a parent keep its file; values a child overrides get the child', () => {
  const { merged, origin } = mergeChain([GRAND, PARENT]);
  const p = provenanceMap(merged, origin);
  assert.is(p['/name'], 'parent.yaml');
  assert.is(p['/distro'], 'grand.ts');
  assert.is(p['/sysctl/vm.swappiness'], 'parent.yaml');
  assert.is(p['/sysctl/net.core.somaxconn'], 'grand.ts');
  assert.is(p['/grub/timeout'], 'grand.ts');
  assert.is(p['/grub/cmdline/0'], 'grand.ts');
  // a map and a list the child touched are the child's; their untouched entries stay the parent's
  assert.is(p['/sysctl'], 'parent.yaml');
  assert.is(p['/grub'], 'grand.ts');
  assert.is(p[''], 'parent.yaml');
});

test('merged lists: each entry from the file that added it; a pin or keyed entry replaces the inherited one', () => {
  const { merged, origin } = mergeChain([GRAND, PARENT]);
  assert.equal(merged.packages, ['vim', 'jq', 'curl=7.88']);
  const p = provenanceMap(merged, origin);
  assert.equal(
    [0, 1, 2].map((i) => p[`/packages/${i}`]),
    ['grand.ts', 'parent.yaml', 'parent.yaml'],
  );
  assert.equal(
    merged.files?.map((f) => f.content),
    ['1', 'two'],
  );
  assert.is(p['/files/0'], 'grand.ts');
  assert.is(p['/files/0/content'], 'grand.ts');
  assert.is(p['/files/1'], 'parent.yaml');
  assert.is(p['/files/1/path'], 'parent.yaml');
  assert.is(p['/files/1/content'], 'parent.yaml');
});

test('removals: the entry is gone, the list is the remover’s, and the removal names both files', () => {
  const { merged, origin, removed } = mergeChain([GRAND, PARENT, CHILD]);
  assert.equal(merged.packages, ['jq', 'curl=7.88']);
  assert.equal(merged.sysctl, { 'vm.swappiness': 1 });
  assert.equal(
    merged.files?.map((f) => f.path),
    ['/etc/two'],
  );
  const p = provenanceMap(merged, origin);
  assert.is(p['/packages'], 'child.json');
  assert.equal([p['/packages/0'], p['/packages/1']], ['parent.yaml', 'parent.yaml']);
  assert.is(p['/sysctl'], 'child.json');
  assert.is(p['/sysctl/vm.swappiness'], 'parent.yaml');
  assert.is(p['/files/0/content'], 'parent.yaml');
  assert.is(p['/grub/cmdline/1'], 'child.json');
  assert.is(p['/grub/timeout'], 'grand.ts');
  assert.not.ok('/packages/2' in p);
  assert.equal(removed, [
    { field: 'packages', key: 'vim', by: 'child.json', from: 'grand.ts' },
    { field: 'sysctl', key: 'net.core.somaxconn', by: 'child.json', from: 'grand.ts' },
    { field: 'files', key: '/etc/one', by: 'child.json', from: 'grand.ts' },
  ]);
  // the inputs are untouched
  assert.equal(GRAND.profile.packages, ['vim', 'curl']);
});

test('a removal of something not inherited is still an error at remove.<field>', () => {
  try {
    mergeChain([GRAND, layer('x.yaml', { name: 'x', remove: { packages: ['nano'] } })]);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.equal((e as ValidationError).issues, [
      { path: 'remove.packages', message: 'nothing inherited to remove named "nano"' },
    ]);
  }
});

test('replaced lists (formats) belong to the child alone', () => {
  const { merged, origin } = mergeChain([
    layer('a.ts', { name: 'a', formats: ['iso', 'qcow2'] }),
    layer('b.ts', { name: 'b', formats: ['qcow2'] }),
  ]);
  assert.equal(merged.formats, ['qcow2']);
  assert.equal(provenanceMap(merged, origin), {
    '': 'b.ts',
    '/name': 'b.ts',
    '/formats': 'b.ts',
    '/formats/0': 'b.ts',
  });
});

test('defaults and command-line overrides are named as such; extends/remove do not appear', () => {
  const { merged, origin } = mergeChain([GRAND, CHILD]);
  const { profile, origin: o } = finishProfile(merged, origin, ['grand.ts', 'child.json'], {
    formats: ['iso'],
  });
  const p = provenanceMap(profile, o);
  assert.is(p['/formats'], OVERRIDE_ORIGIN);
  assert.is(p['/formats/0'], OVERRIDE_ORIGIN);
  assert.is(p['/hostname'], DEFAULT_ORIGIN);
  assert.is(p['/distro'], 'grand.ts');
  assert.is(p['/sources/1'], CHAIN_ORIGIN);
  assert.not.ok('/extends' in p);
  assert.not.ok('/remove' in p);
  assert.not.ok('/mirror' in p);
  assert.is(profile.hostname, 'localhost');
});

test('JSON pointers escape ~ and /', () => {
  assert.is(jsonPointer(['sysctl', 'a/b~c', 0]), '/sysctl/a~1b~0c/0');
  assert.is(jsonPointer([]), '');
});

test('resolveProfileTraced on real files: absolute file names, same profile as resolveProfile', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-prov-'));
  try {
    writeFileSync(path.join(dir, 'a.yaml'), 'name: a\ndistro: debian-bookworm\npackages: [vim, jq]\n');
    writeFileSync(
      path.join(dir, 'b.yaml'),
      'name: b\nextends: ./a.yaml\nsysctl: { vm.swappiness: 1 }\nremove: { packages: [vim] }\n',
    );
    const t = await resolveProfileTraced('./b.yaml', {}, dir);
    const p = provenanceMap(t.profile, t.origin);
    assert.is(p['/distro'], path.join(dir, 'a.yaml'));
    assert.is(p['/packages/0'], path.join(dir, 'a.yaml'));
    assert.is(p['/sysctl/vm.swappiness'], path.join(dir, 'b.yaml'));
    assert.is(p['/formats'], DEFAULT_ORIGIN);
    assert.equal(t.profile.packages, ['jq']);
    assert.equal(t.removed, [
      { field: 'packages', key: 'vim', by: path.join(dir, 'b.yaml'), from: path.join(dir, 'a.yaml') },
    ]);
    // every value of the profile has an origin
    const pointers = Object.keys(p);
    for (const k of Object.keys(t.profile).filter(
      (k) => t.profile[k as keyof typeof t.profile] !== undefined,
    ))
      assert.ok(pointers.includes(`/${k}`), `no origin for ${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
