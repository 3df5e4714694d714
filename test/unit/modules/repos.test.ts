import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reposModule } from '../../../src/modules/repos.ts';
import { profileSchema } from '../../../src/profile/schema.ts';
import { profile } from './helpers.ts';

const repo = { name: 'k8s', url: 'http://127.0.0.1:8080/k8s', suite: 'stable' };

test('repos: a trusted repo is fine; no ops of their own (the engine writes sources, installs packages)', () => {
  const p = profile({ repos: [{ ...repo, trusted: true, packages: ['kubelet=1.21.2-00'] }] });
  assert.equal(reposModule.plan(p), []);
  assert.equal(reposModule.validate!(p), []);
});

test('repos: packages from an unsigned repo need a key or trusted: true, with a hint', () => {
  const issues = reposModule.validate!(profile({ repos: [{ ...repo, packages: ['kubelet'] }] }));
  assert.equal(
    issues.map((i) => i.path),
    ['repos[0].key'],
  );
  assert.match(issues[0]!.message, /give key: ".\/keys\/k8s.asc".*or trusted: true/);
  assert.equal(
    reposModule.validate!(profile({ repos: [repo] })),
    [],
    'a repo that installs nothing needs no key',
  );
});

test('repos: a key file must exist; a README beside it is pointed to', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-keys-'));
  const present = path.join(dir, 'present.asc');
  writeFileSync(present, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n');
  assert.equal(reposModule.validate!(profile({ repos: [{ ...repo, key: present, packages: ['x'] }] })), []);
  const missing = reposModule.validate!(
    profile({ repos: [{ ...repo, key: path.join(dir, 'missing.asc') }] }),
  );
  assert.match(missing[0]!.message, /missing.asc not found; put the repo's ASCII-armored signing key there/);
  writeFileSync(path.join(dir, 'README.md'), '# keys\n');
  const withReadme = reposModule.validate!(
    profile({ repos: [{ ...repo, key: path.join(dir, 'missing.asc') }] }),
  );
  assert.match(withReadme[0]!.message, /see .*README.md/);
  const both = reposModule.validate!(profile({ repos: [{ ...repo, key: present, trusted: true }] }));
  assert.equal(
    both.map((i) => i.path),
    ['repos[0].trusted'],
  );
});

test('repos: suite and components follow apt\'s rules: a flat repo (suite "/") has no components', () => {
  const r = { name: 'k8s', url: 'http://m/k8s/', trusted: true };
  assert.equal(reposModule.validate!(profile({ repos: [{ ...r, suite: '/' }] })), []);
  assert.equal(
    reposModule.validate!(profile({ repos: [{ ...r, suite: 'stable', components: ['main', 'extra'] }] })),
    [],
  );
  assert.equal(reposModule.validate!(profile({ repos: [{ ...r, suite: '/', components: ['main'] }] })), [
    {
      path: 'repos[0].components',
      message: 'a flat repo (suite "/") has no components; drop components (main)',
    },
  ]);
  assert.equal(
    reposModule.validate!(profile({ repos: [{ ...r, suite: 'stable', components: [] }] })).map((i) => i.path),
    ['repos[0].components'],
  );
  // zod's url() takes a tab or a line break in a URL; the profile's URL grammar does not
  const tab = profileSchema.safeParse({ name: 'x', repos: [{ ...r, url: 'http://m/\tx', suite: 'stable' }] });
  assert.equal(
    tab.error?.issues.map((i) => i.path.join('.')),
    ['repos.0.url'],
  );
});

test('repos: a key given as a bare URL must pin its fingerprint; { url, fingerprint } needs no file', () => {
  const bare = reposModule.validate!(
    profile({ repos: [{ ...repo, key: 'https://h/key.asc', packages: ['x'] }] }),
  );
  assert.equal(
    bare.map((i) => i.path),
    ['repos[0].key'],
  );
  assert.match(bare[0]!.message, /key: \{ url: "https:\/\/h\/key.asc", fingerprint: "<40 hex digits>" \}/);
  const pinned = { url: 'https://h/key.asc', fingerprint: 'A'.repeat(40) };
  assert.equal(reposModule.validate!(profile({ repos: [{ ...repo, key: pinned, packages: ['x'] }] })), []);
});

test.run();
