/**
 * The npm package as users get it: `npm pack`, `npm install -g --prefix <tmp>` of the tarball
 * (dependencies from the npm registry or its local cache), then the installed `ib-native` (a
 * symlink in the prefix's bin folder) run from an unrelated folder: `plan` of a shipped profile
 * name (found in the package, not in the current folder, which holds a decoy), `plan` of a user's
 * own TS profile that imports from 'ib-native' and extends `minimal`, a JSON profile naming the
 * shipped JSON Schema, `doctor`, and the help; and that it runs the compiled JavaScript that
 * `npm pack` built (dist/), not the sources through tsx. Needs the registry (or a warm npm cache), no root.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT } from '../../src/errors.ts';
import { REPO, SCRATCH } from '../helpers/host.ts';

let dir = '';
let prefix = '';
let user = '';
let pkgRoot = '';

/** The installed ib-native, run through its bin symlink from the user's folder. */
async function installed(args: string[]) {
  const r = await execa(path.join(prefix, 'bin', 'ib-native'), args, {
    cwd: user,
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: 120_000,
    // nothing from the repository: no tsx loader, no test cache settings, no forcing of the sources
    env: { NODE_OPTIONS: '', IB_NATIVE_CACHE: path.join(dir, 'cache'), IB_NATIVE_FROM_SOURCE: '' },
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), all: String(r.all) };
}

test.before(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  dir = mkdtempSync(path.join(SCRATCH, 'pack-'));
  prefix = path.join(dir, 'prefix');
  user = path.join(dir, 'user');
  mkdirSync(user, { recursive: true });
  const npm = (args: string[], cwd: string) =>
    execa('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd,
      all: true,
      timeout: 300_000,
    });
  const packed = await npm(['pack', '--json', '--pack-destination', dir], REPO);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  await npm(['install', '--global', '--prefix', prefix, '--prefer-offline', path.join(dir, filename)], dir);
  pkgRoot = path.join(prefix, 'lib', 'node_modules', 'ib-native');
});

test.after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the package holds profiles, chroot scripts, native tools, the schema and examples, not the tests', () => {
  for (const f of [
    'bin/ib-native.mjs',
    'bin/entry.mjs',
    'dist/BUILT',
    'dist/src/cli/main.js',
    'dist/src/index.js',
    'src/cli/main.ts',
    'profiles/minimal.ts',
    'profiles/keys/README.md',
    'chroot-scripts/dkms-build.sh',
    'native-tools/install.sh',
    'native-tools/tools.ts',
    'schema/profile.schema.json',
    'examples/site.yaml',
    'README.md',
  ])
    assert.ok(existsSync(path.join(pkgRoot, f)), `${f} missing from the installed package`);
  assert.not.ok(existsSync(path.join(pkgRoot, 'test')), 'tests are shipped');
  // runtime dependencies came along (tsx runs the sources when dist/ does not match them)
  for (const d of ['tsx', 'jiti', 'yargs', 'zod'])
    assert.ok(existsSync(path.join(pkgRoot, 'node_modules', d)), d);
  const bin = path.join(prefix, 'bin', 'ib-native');
  assert.ok(lstatSync(bin).isSymbolicLink(), 'the global bin is a symlink');
  assert.is(realpathSync(bin), realpathSync(path.join(pkgRoot, 'bin/ib-native.mjs')));
});

test('plan of a shipped profile name, from an unrelated folder holding a decoy profiles/', async () => {
  mkdirSync(path.join(user, 'profiles'), { recursive: true });
  writeFileSync(path.join(user, 'profiles', 'minimal.yaml'), 'name: decoy\nhostname: decoy\n');
  const r = await installed(['plan', '--profile', 'minimal', '--distro', 'debian-bookworm']);
  assert.is(r.exitCode, 0, r.all);
  const first = r.stdout.split('\n')[0]!;
  assert.match(first, /^profile minimal \(.*lib\/node_modules\/ib-native\/profiles\/minimal\.ts\)$/);
  assert.match(r.stdout, /^distro debian-bookworm;/m);
  assert.match(r.stdout, /^ +debian-bookworm: http:\/\/deb\.debian\.org\/debian bookworm /m);
  assert.match(r.stdout, /cloud-init/);
  assert.not.match(r.stdout, /decoy/);
});

test("plan of the user's own TS profile importing from 'ib-native', and of a JSON profile with $schema", async () => {
  writeFileSync(
    path.join(user, 'site.ts'),
    `import { DEFAULT_DISK_SIZE, defineProfile } from 'ib-native';

export default defineProfile({
  name: 'site',
  extends: 'minimal',
  distro: 'debian-bookworm',
  packages: ['jq'],
  hostname: 'site-node',
  description: \`disk of \${DEFAULT_DISK_SIZE}\`,
});
`,
  );
  writeFileSync(
    path.join(user, 'site-qcow.json'),
    JSON.stringify({
      $schema: path.join(pkgRoot, 'schema/profile.schema.json'),
      name: 'site-qcow',
      extends: './site.ts',
      formats: ['qcow2'],
    }),
  );
  const ts = await installed(['plan', '--profile', './site.ts']);
  assert.is(ts.exitCode, 0, ts.all);
  assert.match(
    ts.stdout,
    /^profile site \(.*lib\/node_modules\/ib-native\/profiles\/minimal\.ts <- site\.ts\)$/m,
  );
  assert.match(ts.stdout, /\bjq\b/);
  const json = await installed(['plan', '--profile', 'site-qcow.json', '--json']);
  assert.is(json.exitCode, 0, json.all);
  // hostname and description come from site.ts, the description from a value imported from 'ib-native'
  const { profile } = JSON.parse(json.stdout) as { profile: Record<string, unknown> };
  assert.equal(
    [profile.name, profile.formats, profile.hostname, profile.description],
    ['site-qcow', ['qcow2'], 'site-node', 'disk of 19G'],
  );
});

test('doctor, --help and a bad profile name from the installed package', async () => {
  const doctor = await installed(['doctor']);
  assert.match(doctor.stdout, /running as root/);
  if (doctor.exitCode === EXIT.ok)
    assert.match(doctor.stdout, /Every tool is present|To install everything missing/);
  else {
    assert.is(doctor.exitCode, EXIT.hostNotReady, doctor.all);
    assert.ok(doctor.stdout.includes(path.join(pkgRoot, 'native-tools/install.sh')), doctor.stdout);
  }
  const help = await installed(['--help']);
  assert.is(help.exitCode, 0, help.all);
  assert.match(help.stdout, /^Exit codes:$/m);
  const bad = await installed(['plan', '--profile', 'no-such-profile']);
  assert.is(bad.exitCode, EXIT.badInput, bad.all);
  const shipped = readdirSync(path.join(pkgRoot, 'profiles'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));
  assert.match(bad.all, new RegExp(`shipped profiles: ${shipped.sort().join(', ')}`));
});

test('the installed package runs the compiled code: dist/ matches its sources, and it works without tsx', async () => {
  // the stamp names the sources as installed (npm rewrote their times, not their contents)
  const { readStamp, sourceDigest } = await import(path.join(pkgRoot, 'bin/entry.mjs'));
  assert.is(readStamp(pkgRoot)?.sources, await sourceDigest(pkgRoot));
  // without tsx the sources cannot run: what works now is the compiled code (a TS profile loads through jiti)
  rmSync(path.join(pkgRoot, 'node_modules', 'tsx'), { recursive: true, force: true });
  const help = await installed(['--help']);
  assert.is(help.exitCode, 0, help.all);
  const ts = await installed(['plan', '--profile', './site.ts']);
  assert.is(ts.exitCode, 0, ts.all);
  assert.match(ts.stdout, /^profile site \(/m);
  // and a changed source makes the bin leave dist/ for the sources, which now fail without tsx
  const main = path.join(pkgRoot, 'src/cli/main.ts');
  writeFileSync(main, `${readFileSync(main, 'utf8')}\n// edited\n`);
  const stale = await installed(['--help']);
  assert.is.not(stale.exitCode, 0, 'a stale dist/ was run');
  assert.match(stale.all, /tsx/);
});

test.run();
