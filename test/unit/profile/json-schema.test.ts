import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { importAirship } from '../../../src/import/airship.ts';
import { REPO_ROOT } from '../../../src/package.ts';
import { PROFILES_DIR } from '../../../src/profile/files.ts';
import { renderProfileJsonSchema, SCHEMA_FILE } from '../../../src/profile/json-schema.ts';
import { loadProfileFile, readProfileFile } from '../../../src/profile/load.ts';
import { resolveProfile } from '../../../src/profile/resolve.ts';
import { profileSchema } from '../../../src/profile/schema.ts';

const shipped = readFileSync(SCHEMA_FILE, 'utf8');
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats.default(ajv);
const validate = ajv.compile(JSON.parse(shipped));
const EXAMPLES = path.join(REPO_ROOT, 'examples');
const AIRSHIP_FIXTURE = path.join(REPO_ROOT, 'test/fixtures/airship');

const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function errorsOf(raw: unknown): string {
  return validate(raw) ? '' : ajv.errorsText(validate.errors);
}

test('the shipped schema/profile.schema.json is what `npm run schema` makes from src/profile/schema.ts', () => {
  assert.ok(
    shipped === renderProfileJsonSchema(),
    'schema/profile.schema.json is stale: run `npm run schema` and commit the result',
  );
});

test('every top-level field of the zod schema is in the JSON schema, with a description', () => {
  const props = JSON.parse(shipped).properties as Record<string, { description?: string }>;
  for (const key of Object.keys(profileSchema.shape)) {
    assert.ok(props[key], `${key} missing`);
    assert.ok(props[key]!.description, `${key} has no description (add .describe() in schema.ts)`);
  }
  assert.ok(props.$schema, 'a profile may name its schema');
});

test('every shipped profile (profiles/*.ts, read as the loader reads it) validates', async () => {
  const files = readdirSync(PROFILES_DIR).filter((f) => /\.(ts|ya?ml|json)$/.test(f));
  assert.ok(files.length >= 5, files.join(', '));
  for (const f of files) {
    const raw = await readProfileFile(path.join(PROFILES_DIR, f));
    assert.is(errorsOf(raw), '', f);
  }
});

test('the example profiles validate, `$schema` included, and the loader accepts them', async () => {
  const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.equal(files.sort(), ['site.json', 'site.yaml', 'worker-docker-containerd.yaml']);
  for (const f of files) {
    const raw = (await readProfileFile(path.join(EXAMPLES, f))) as Record<string, unknown>;
    assert.is(errorsOf(raw), '', f);
    if (f.endsWith('.json')) assert.is(raw.$schema, '../schema/profile.schema.json');
    // the loader drops `$schema`: it is neither an unknown key nor part of the profile
    const { profile } = await loadProfileFile(path.join(EXAMPLES, f));
    assert.not.ok('$schema' in profile, f);
  }
  const site = await resolveProfile(path.join(EXAMPLES, 'site.json'));
  assert.is(site.name, 'site-json');
  assert.ok(site.packages.includes('jq') && !site.packages.includes('curl'), site.packages.join(' '));
  assert.equal(site.formats, ['qcow2']);
  // Docker's containerd.io is an option over the shipped worker, its key pinned
  const docker = await resolveProfile(path.join(EXAMPLES, 'worker-docker-containerd.yaml'));
  assert.is(docker.containerd?.package, 'containerd.io');
  assert.equal(docker.repos?.[0]?.key, {
    url: 'https://download.docker.com/linux/ubuntu/gpg',
    fingerprint: '9DC858229FC7DD38854AE2D88D81803C0EBFCD88',
  });
  assert.equal(docker.kubernetes, { version: '1.31' });
});

test('profiles written by import-airship validate', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'ib-schema-'));
  dirs.push(out);
  const written = await importAirship(AIRSHIP_FIXTURE, out);
  assert.ok(written.length >= 3);
  for (const w of written) assert.is(errorsOf(await readProfileFile(w.file)), '', w.file);
});

const INVALID: [string, unknown, RegExp][] = [
  ['no name', { distro: 'debian-bookworm' }, /must have required property 'name'/],
  ['an unknown key', { name: 'x', pacakges: ['jq'] }, /must NOT have additional properties/],
  [
    'an unknown distro',
    { name: 'x', distro: 'fedora-40' },
    /distro must be equal to one of the allowed values/,
  ],
  ['an upper-case name', { name: 'Site' }, /name must match pattern/],
  ['an empty formats list', { name: 'x', formats: [] }, /formats must NOT have fewer than 1 items/],
  ['a relative file path', { name: 'x', files: [{ path: 'etc/x', content: '' }] }, /path must match/],
  ['a clear-text password', { name: 'x', users: [{ name: 'ops', passwordHash: 'hunter2' }] }, /passwordHash/],
  [
    'a sysctl value of the wrong type',
    { name: 'x', sysctl: { 'vm.swappiness': true } },
    /must be string,number/,
  ],
  ['a mirror that is no URL', { name: 'x', mirror: 'deb.debian.org' }, /mirror must match format "uri"/],
  [
    'an unknown partition flag',
    {
      name: 'x',
      disk: { partitions: [{ name: 'r', filesystem: 'ext4', start: '1MiB', end: '100%', flags: ['raid'] }] },
    },
    /flags\/0 must be equal to one of/,
  ],
];

for (const [what, raw, message] of INVALID)
  test(`the schema rejects ${what}, as the loader does`, () => {
    assert.match(errorsOf(raw), message);
    assert.not.ok(profileSchema.safeParse(raw).success, 'zod accepts what the JSON schema rejects');
  });

test.run();
