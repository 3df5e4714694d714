import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSeedIso, defaultMetaData, seedIsoArgs } from '../../../src/boot/seed.ts';
import { UserError } from '../../../src/errors.ts';
import { recordingRunner } from '../../../src/run/runner.ts';

function seedDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ib-native-seedtest-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

test('seedIsoArgs: xorriso in mkisofs mode, volume cidata, Joliet and Rock Ridge, graft points', () => {
  assert.equal(
    seedIsoArgs('/tmp/b/seed.iso', [
      { name: 'user-data', path: '/seed/user-data' },
      { name: 'meta-data', path: '/odd=dir/meta-data' },
    ]),
    [
      'xorriso',
      '-as',
      'mkisofs',
      '-quiet',
      '-output',
      '/tmp/b/seed.iso',
      '-volid',
      'cidata',
      '-joliet',
      '-rock',
      '-graft-points',
      'user-data=/seed/user-data',
      'meta-data=/odd\\=dir/meta-data',
    ],
  );
});

test('defaultMetaData: an instance-id that depends on the user-data only', () => {
  const a = defaultMetaData('#cloud-config\n');
  assert.match(a, /^instance-id: iid-ib-native-[0-9a-f]{12}\n$/);
  assert.is(defaultMetaData('#cloud-config\n'), a);
  assert.is.not(defaultMetaData('#cloud-config\nhostname: x\n'), a);
});

test('buildSeedIso generates meta-data when the folder has none, and never writes into the folder', async () => {
  const dir = seedDir({ 'user-data': '#cloud-config\n', 'network-config': 'version: 2\n' });
  let metaSeen = '';
  const runner = recordingRunner((argv) => {
    const graft = argv.find((a) => a.startsWith('meta-data='));
    if (graft) metaSeen = readFileSync(graft.slice('meta-data='.length), 'utf8');
    return undefined;
  });
  try {
    const out = await buildSeedIso(runner, dir, '/tmp/b/seed.iso');
    assert.is(out, '/tmp/b/seed.iso');
    assert.is(runner.calls.length, 1);
    const argv = runner.calls[0]!;
    assert.equal(argv.slice(0, 11), seedIsoArgs('/tmp/b/seed.iso', []));
    const grafts = argv.slice(11);
    assert.equal(grafts.slice(0, 2), [`user-data=${dir}/user-data`, `network-config=${dir}/network-config`]);
    assert.match(grafts[2]!, /^meta-data=\/.*ib-native-seed-.*\/meta-data$/);
    assert.is(metaSeen, defaultMetaData('#cloud-config\n'));
    assert.not.ok(existsSync(grafts[2]!.slice('meta-data='.length)), 'the generated meta-data is removed');
    assert.equal(readdirSync(dir).sort(), ['network-config', 'user-data']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("buildSeedIso uses the folder's own meta-data", async () => {
  const dir = seedDir({ 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: mine\n' });
  const runner = recordingRunner();
  try {
    await buildSeedIso(runner, dir, '/tmp/b/seed.iso');
    assert.equal(runner.calls[0]!.slice(11), [`user-data=${dir}/user-data`, `meta-data=${dir}/meta-data`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buildSeedIso without user-data: a UserError explaining the folder', async () => {
  const dir = seedDir({ 'meta-data': 'instance-id: x\n' });
  try {
    await buildSeedIso(recordingRunner(), dir, '/tmp/b/seed.iso').then(
      () => assert.unreachable('should have thrown'),
      (e: unknown) => {
        assert.instance(e, UserError);
        assert.match((e as UserError).message, /no user-data/);
        assert.match((e as UserError).hint ?? '', /cloud-config/);
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
