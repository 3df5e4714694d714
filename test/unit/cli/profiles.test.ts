import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { displayFile, formatProfileRows, renderWithProvenance } from '../../../src/cli/profiles.ts';
import { PROFILES_DIR } from '../../../src/profile/files.ts';
import { provenanceMap } from '../../../src/profile/merge.ts';
import { mergeChain, type ProfileLayer, resolveProfileTraced } from '../../../src/profile/resolve.ts';
import type { Profile } from '../../../src/profile/schema.ts';

const layer = (file: string, profile: Record<string, unknown>): ProfileLayer => ({
  file,
  profile: profile as Profile,
});

test('renderWithProvenance: YAML of the profile, each value followed by its file; empty lists too; removals', () => {
  const { merged, origin, removed } = mergeChain([
    layer('/p/a.ts', {
      name: 'a',
      packages: ['vim', 'jq'],
      sysctl: { 'vm.swappiness': 10 },
      grub: { cmdline: ['quiet'] },
    }),
    layer('/p/b.yaml', {
      name: 'b',
      files: [{ path: '/etc/motd', content: 'hi\nthere\n' }],
      remove: { packages: ['vim'], 'grub.cmdline': ['quiet'] },
    }),
  ]);
  const text = renderWithProvenance({ ...merged, sources: ['/p/a.ts', '/p/b.yaml'] }, origin, removed, (f) =>
    path.basename(f),
  );
  const lines = text.split('\n');
  assert.ok(lines.includes('# a.ts <- b.yaml'), text);
  assert.ok(lines.includes('name: b # b.yaml'), text);
  assert.ok(lines.includes('  - jq # a.ts'), text);
  assert.ok(lines.includes('  vm.swappiness: 10 # a.ts'), text);
  assert.ok(lines.includes('  cmdline: [] # b.yaml'), text);
  assert.ok(lines.includes('  - path: /etc/motd # b.yaml'), text);
  assert.ok(lines.includes('#   packages: vim (set by a.ts, removed by b.yaml)'), text);
  // still YAML, with the same values
  const back = parse(text);
  assert.equal(back.packages, ['jq']);
  assert.equal(back.files, [{ path: '/etc/motd', content: 'hi\nthere\n' }]);
});

test('every value of a shipped profile has a provenance; displayFile names shipped files profiles/…', async () => {
  const t = await resolveProfileTraced('worker');
  const p = provenanceMap(t.profile, t.origin);
  assert.is(p['/name'], path.join(PROFILES_DIR, 'worker.ts'));
  assert.is(p['/distro'], path.join(PROFILES_DIR, 'base.ts'));
  assert.is(displayFile(path.join(PROFILES_DIR, 'base.ts')), 'profiles/base.ts');
  const text = renderWithProvenance(t.profile, t.origin, t.removed);
  assert.ok(text.startsWith('# profiles/base.ts <- profiles/worker.ts\n'), text.slice(0, 200));
  assert.match(text, /^distro: ubuntu-focal # profiles\/base\.ts$/m);
  // a profile of one's own, named relative to the current folder
  const dir = mkdtempSync(path.join(process.cwd(), '.profiles-test-'));
  try {
    writeFileSync(path.join(dir, 'site.yaml'), 'name: site\nextends: minimal\nhostname: s1\n');
    const own = await resolveProfileTraced(path.join(dir, 'site.yaml'));
    const rel = path.relative(process.cwd(), path.join(dir, 'site.yaml'));
    const shown = renderWithProvenance(own.profile, own.origin, own.removed);
    assert.ok(shown.startsWith(`# profiles/minimal.ts <- ${rel}\n`), shown.slice(0, 200));
    assert.ok(shown.includes(`\nhostname: s1 # ${rel}\n`), shown);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.is(displayFile('/srv/site/x.yaml', '/srv'), 'site/x.yaml');
  assert.is(displayFile('/etc/x.yaml', '/srv'), '/etc/x.yaml');
  assert.is(displayFile('(default)'), '(default)');
});

test('formatProfileRows: aligned columns, a broken profile says why', () => {
  const text = formatProfileRows(
    [
      {
        name: 'base',
        file: path.join(PROFILES_DIR, 'base.ts'),
        formats: ['iso', 'qcow2'],
        distro: 'ubuntu-focal',
      },
      { name: 'worker', file: '/x/worker.ts', extends: 'base', formats: ['qcow2'], distro: 'ubuntu-focal' },
      { name: 'broken', file: '/x/broken.yaml', error: 'no profile named "nope"' },
    ],
    '/x',
  );
  assert.is(
    text,
    [
      'NAME    EXTENDS  FORMATS    DISTRO                   FILE',
      'base    -        iso,qcow2  ubuntu-focal             profiles/base.ts',
      'worker  base     qcow2      ubuntu-focal             worker.ts',
      'broken  !        invalid:   no profile named "nope"  broken.yaml',
      '',
    ].join('\n'),
  );
});

test.run();
