import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError, ValidationError } from '../../../src/errors.ts';
import { listProfiles, locateProfile, PROFILES_DIR } from '../../../src/profile/files.ts';
import { loadProfileFile } from '../../../src/profile/load.ts';
import { resolveProfile } from '../../../src/profile/resolve.ts';

/** Taken before any test loads a profile (a leaked guard would otherwise be taken for the real one). */
const realExit = process.exit;
const dirs: string[] = [];
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-profiles-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const GRAND_TS = `import { defineProfile } from 'ib-native';

export default defineProfile({
  name: 'grand',
  distro: 'debian-bookworm',
  hostname: 'grand',
  packages: ['vim', 'curl'],
  sysctl: { 'vm.swappiness': 10 },
  repos: [{ name: 'local', url: 'http://127.0.0.1:8080/repo', suite: 'stable', key: './keys/local.asc', packages: ['tool'] }],
  dkms: [{ name: 'mod', version: '1.0', source: 'src/mod' }],
});
`;

test('extends chain across .ts (importing ib-native from outside the repo), .json and .yaml', async () => {
  const dir = folder({
    'lib/grand.ts': GRAND_TS,
    'mid/parent.json': JSON.stringify({
      name: 'parent',
      extends: '../lib/grand.ts',
      packages: ['jq', 'curl=7.88'],
      sysctl: { 'net.ipv4.ip_forward': 1 },
    }),
    'child.yaml': [
      'name: child',
      'extends: ./mid/parent.json',
      'hostname: node1',
      'remove:',
      '  packages: [vim]',
      '  sysctl: [vm.swappiness]',
      'repos:',
      '  - name: extra',
      '    url: http://127.0.0.1:8080/extra',
      '    suite: focal',
      '    key: extra.gpg',
      '',
    ].join('\n'),
  });
  const p = await resolveProfile('./child.yaml', {}, dir);
  assert.is(p.name, 'child');
  assert.equal(p.sources, [
    path.join(dir, 'lib/grand.ts'),
    path.join(dir, 'mid/parent.json'),
    path.join(dir, 'child.yaml'),
  ]);
  assert.is(p.distro, 'debian-bookworm');
  assert.is(p.hostname, 'node1');
  assert.equal(p.packages, ['jq', 'curl=7.88']);
  assert.equal(p.sysctl, { 'net.ipv4.ip_forward': 1 });
  // relative host paths resolve against the folder of the profile that wrote them
  assert.equal(
    p.repos?.map((r) => [r.name, r.key, r.components, r.packages]),
    [
      ['local', path.join(dir, 'lib/keys/local.asc'), undefined, ['tool']],
      ['extra', path.join(dir, 'extra.gpg'), undefined, []],
    ],
  );
  assert.equal(p.dkms, [{ name: 'mod', version: '1.0', source: path.join(dir, 'lib/src/mod') }]);
  assert.equal(p.formats, ['iso', 'qcow2']);
  assert.ok(Object.isFrozen(p));
  assert.not.ok('extends' in p);
  assert.not.ok('remove' in p);
});

test('loadProfileFile: URL keys and absolute paths are left alone', async () => {
  const dir = folder({
    'p.yaml': [
      'name: p',
      'repos:',
      '  - { name: a, url: "http://x/a", suite: s, key: "https://x/key.asc" }',
      '  - { name: b, url: "http://x/b", suite: s, key: /etc/keys/b.gpg }',
      '',
    ].join('\n'),
  });
  const { profile } = await loadProfileFile(path.join(dir, 'p.yaml'));
  assert.equal(
    profile.repos?.map((r) => r.key),
    ['https://x/key.asc', '/etc/keys/b.gpg'],
  );
});

test('remove of something not inherited is a ValidationError at remove.<field>', async () => {
  const dir = folder({
    'a.yaml': 'name: a\npackages: [vim]\n',
    'b.yaml': 'name: b\nextends: ./a.yaml\nremove:\n  packages: [vim, nano]\n  sysctl: [vm.x]\n',
  });
  try {
    await resolveProfile('./b.yaml', {}, dir);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, ValidationError);
    const v = e as ValidationError;
    assert.is(v.source, path.join(dir, 'b.yaml'));
    assert.equal(v.issues, [
      { path: 'remove.packages', message: 'nothing inherited to remove named "nano"' },
      { path: 'remove.sysctl', message: 'nothing inherited to remove named "vm.x"' },
    ]);
  }
});

test('an inheritance loop is detected and shows the chain', async () => {
  const dir = folder({ 'a.yaml': 'name: a\nextends: ./b.yaml\n', 'b.yaml': 'name: b\nextends: ./a.yaml\n' });
  try {
    await resolveProfile('./a.yaml', {}, dir);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, UserError);
    const a = path.join(dir, 'a.yaml');
    const b = path.join(dir, 'b.yaml');
    assert.is((e as Error).message, `profile inheritance loops: ${a} -> ${b} -> ${a}`);
  }
});

test('an unknown key is an error naming the key and its path', async () => {
  const dir = folder({
    'typo.json': JSON.stringify({
      name: 'typo',
      pakages: ['vim'],
      repos: [{ name: 'r', url: 'http://x/r', suite: 's', sute: 'x' }],
    }),
  });
  const file = path.join(dir, 'typo.json');
  try {
    await loadProfileFile(file);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, ValidationError);
    const v = e as ValidationError;
    const hint = '(check the spelling; see README "Profile reference")';
    assert.equal(
      v.issues.map((i) => `${i.path}: ${i.message}`).sort(),
      [`: unknown key "pakages" ${hint}`, `repos[0]: unknown key "sute" ${hint}`].sort(),
    );
    assert.match(v.message, `${file}: 2 problems`);
    assert.match(v.message, `  - (root): unknown key "pakages"`);
    assert.match(v.message, `  - repos[0]: unknown key "sute"`);
  }
});

test('a missing required field and a syntax error', async () => {
  const dir = folder({ 'noname.yaml': 'hostname: x\n', 'bad.json': '{"name": ' });
  try {
    await loadProfileFile(path.join(dir, 'noname.yaml'));
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.equal((e as ValidationError).issues, [{ path: 'name', message: 'is required (expected string)' }]);
  }
  try {
    await loadProfileFile(path.join(dir, 'bad.json'));
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, `cannot read profile ${path.join(dir, 'bad.json')}: `);
  }
});

test('locateProfile: names look in profiles/, paths resolve against the given folder', () => {
  assert.is(locateProfile('minimal'), path.join(PROFILES_DIR, 'minimal.ts'));
  const dir = folder({ 'x.yaml': 'name: x\n', 'x.txt': '' });
  assert.is(locateProfile('./x.yaml', dir), path.join(dir, 'x.yaml'));
  assert.is(locateProfile('x.yaml', dir), path.join(dir, 'x.yaml'));
  assert.throws(
    () => locateProfile('./y.yaml', dir),
    (e: Error) => e instanceof UserError && /profile file not found/.test(e.message),
  );
  assert.throws(
    () => locateProfile('./x.txt', dir),
    (e: Error) => e instanceof UserError && /unsupported extension/.test(e.message),
  );
});

test('locateProfile: an unknown name lists the shipped profiles', () => {
  const shipped = listProfiles();
  assert.equal(shipped, ['base', 'control-plane', 'ephemeral', 'minimal', 'worker']);
  assert.throws(
    () => locateProfile('nope'),
    (e: Error) =>
      e instanceof UserError &&
      e.message === 'no profile named "nope"' &&
      (e as UserError).hint ===
        `shipped profiles: ${shipped.join(', ')}; or give a path to a .ts/.yaml/.json file`,
  );
});

test('resolveProfile: shipped minimal with --distro, --format and --mirror overrides', async () => {
  const plain = await resolveProfile('minimal');
  assert.is(plain.distro, 'ubuntu-focal');
  assert.equal(plain.sources, [path.join(PROFILES_DIR, 'minimal.ts')]);
  const p = await resolveProfile('minimal', {
    distro: 'debian-bookworm',
    formats: ['iso'],
    mirror: 'http://mirror.local/debian',
  });
  assert.is(p.name, 'minimal');
  assert.is(p.distro, 'debian-bookworm');
  assert.equal(p.formats, ['iso']);
  assert.is(p.mirror, 'http://mirror.local/debian');
  assert.is(p.hostname, 'localhost');
  assert.ok(p.packages.includes('cloud-init'));
});

test('a profile extending worker keeps the inherited Kubernetes and containerd; fields a file does not set stay unset', async () => {
  const dir = folder({ 'my.yaml': 'name: my-worker\nextends: worker\nhostname: w1\n' });
  const worker = await resolveProfile('worker');
  const mine = await resolveProfile('./my.yaml', {}, dir);
  assert.is(mine.kubernetes?.version, '1.31');
  assert.equal(mine.kubernetes, worker.kubernetes);
  assert.equal(mine.containerd, worker.containerd);
  assert.equal(mine.repos, worker.repos);
  assert.is(mine.hostname, 'w1');
  const { profile } = await loadProfileFile(path.join(dir, 'my.yaml'));
  assert.equal(Object.keys(profile).sort(), ['extends', 'hostname', 'name']);
});

test('resolveProfile: defaults for a bare profile', async () => {
  const dir = folder({ 'bare.yaml': 'name: bare\n' });
  const p = await resolveProfile('./bare.yaml', {}, dir);
  assert.is(p.distro, 'ubuntu-focal');
  assert.equal(p.formats, ['iso', 'qcow2']);
  assert.is(p.hostname, 'localhost');
  assert.equal(p.packages, []);
  assert.is(p.mirror, undefined);
});

test('TS profiles loaded at once (a bundle) leave the real process.exit behind; one that exits is refused', async () => {
  const dir = folder({
    'a.ts': `export default { name: 'a', hostname: 'a' };\n`,
    'b.ts': `await new Promise((r) => setTimeout(r, 300));\nexport default { name: 'b', hostname: 'b' };\n`,
    'exits.ts': `process.exit(3);\nexport default { name: 'exits' };\n`,
  });
  // a ends before b: saving and restoring per load would leave a's guard installed after b
  const loads = await Promise.allSettled([
    loadProfileFile(path.join(dir, 'a.ts')),
    loadProfileFile(path.join(dir, 'b.ts')),
  ]);
  assert.equal(
    loads.map((l) => l.status),
    ['fulfilled', 'fulfilled'],
  );
  assert.ok(process.exit === realExit, 'process.exit is the real one again once every load has ended');
  try {
    await loadProfileFile(path.join(dir, 'exits.ts'));
    assert.unreachable('a profile calling process.exit must be refused');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /exits\.ts called process\.exit\(3\) while loading/);
  }
  assert.ok(process.exit === realExit);
});
test.run();
