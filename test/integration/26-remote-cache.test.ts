/**
 * Issue 15 (1): the stage cache shared through an OCI registry. Debian's docker-registry (CNCF
 * Distribution) runs on 127.0.0.1 for this file. Builder A (the shared test cache, where
 * 10-minimal-build left minimal's entries) pushes them with --cache-to; builder B, with an empty
 * cache of its own, builds minimal with --cache-from without bootstrapping or packing a base (all
 * four entries pulled, the base squashfs byte for byte A's), and its QCOW2 and ISO boot to login. A blob
 * corrupted in the registry's storage is detected and that entry built locally (builder C); with
 * the registry stopped, a build warns once per flag and builds locally, exit 0.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, buildArgs, CACHE, cli, ownScratch } from '../helpers/host.ts';
import { type Registry, startRegistry } from '../helpers/registry.ts';

const DIR = ownScratch('remote-cache');
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '600';
const REPO = 'ib-native/cache';
let registry: Registry;
const ref = () => registry.ref;
const cacheOf = (builder: string) => path.join(DIR, `cache-${builder}`);
const outOf = (builder: string) => path.join(DIR, `out-${builder}`);
const api = (p: string, accept?: string) => registry.api(p, accept);

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  registry = await startRegistry(path.join(DIR, 'registry'), REPO);
});

test.after(() => {
  registry?.stop();
});

const log = (builder: string) => readFileSync(path.join(outOf(builder), 'minimal.build.log'), 'utf8');
/** Commands the build ran (the log's `$ argv` lines), first words. */
const ran = (text: string) =>
  text
    .split('\n')
    .filter((l) => / DEBUG \$ /.test(l))
    .map((l) => l.split('$ ')[1]!);

test('builder A pushes the entries it used (rootfs, base squashfs, base disk, base QCOW2) with --cache-to', async () => {
  const r = await cli(buildArgs('minimal', 'iso,qcow2', outOf('a'), '--cache-to', ref()));
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  const tags = ((await (await api(`${REPO}/tags/list`)).json()) as { tags: string[] }).tags.sort();
  assert.equal(
    tags.map((t) => t.split('-')[0]),
    ['disk', 'qcow2', 'rootfs', 'squashfs'],
    `tags in the registry: ${tags.join(', ')}`,
  );
  for (const kind of ['rootfs', 'squashfs', 'disk', 'qcow2'])
    assert.match(log('a'), new RegExp(`cache-to: (pushed ${kind} \\w+ to|${kind} \\w+ is in) ${ref()}`));
  assertCleanHost(assert, 'after pushing');
});

test('builder B, with an empty cache, pulls all four and neither bootstraps nor packs a base', async () => {
  const r = await cli(buildArgs('minimal', 'iso,qcow2', outOf('b'), '--cache-from', ref()), {
    cache: cacheOf('b'),
  });
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  const text = log('b');
  for (const kind of ['rootfs', 'squashfs', 'disk', 'qcow2'])
    assert.match(text, new RegExp(`cache-from: pulled ${kind} \\w+ from ${ref()}`));
  const commands = ran(text);
  assert.equal(
    commands.filter((c) => /^(mmdebstrap|debootstrap) (?!--version)/.test(c)),
    [],
    'B bootstrapped a rootfs',
  );
  assert.not.match(text, /mksquashfs of the base rootfs/);
  assert.not.match(
    text,
    /copying the base rootfs into the base disk/,
    'B made a base disk although it pulled one',
  );
  assert.not.match(
    text,
    /converting the base disk once/,
    'B converted the base disk although it pulled its QCOW2',
  );
  assert.match(
    text,
    /the cached base QCOW2 with the \d+ clusters that differ/,
    "B's QCOW2 is not the pulled base QCOW2 and a delta",
  );
  assert.not.match(text, / WARN .*cache-(from|to)/, 'a pull warned');
  // what B uses is what A had: the base squashfs, byte for byte
  const sum = (root: string) => {
    const dir = path.join(root, 'squashfs');
    const key = readdirSync(dir).find(
      (k) => !k.startsWith('.') && existsSync(path.join(dir, k, 'entry.json')),
    )!;
    return createHash('sha256')
      .update(readFileSync(path.join(dir, key, 'filesystem.squashfs')))
      .digest('hex');
  };
  const keyOfB = readdirSync(path.join(cacheOf('b'), 'squashfs')).filter((k) => !k.startsWith('.'));
  assert.ok(existsSync(path.join(CACHE, 'squashfs', keyOfB[0]!)), 'B pulled a squashfs A does not have');
  assert.is(
    createHash('sha256')
      .update(readFileSync(path.join(CACHE, 'squashfs', keyOfB[0]!, 'filesystem.squashfs')))
      .digest('hex'),
    sum(cacheOf('b')),
  );
  assertCleanHost(assert, 'after pulling', cacheOf('b'));
});

for (const [file, from] of [
  ['minimal.qcow2', 'rootfs, base disk and base QCOW2'],
  ['minimal.iso', 'rootfs and base squashfs'],
] as const)
  test(`builder B's ${file}, made from the pulled ${from}, boots to login:`, async () => {
    const r = await cli(
      [
        'boot',
        path.join(outOf('b'), file),
        '--timeout',
        TIMEOUT,
        '--console-log',
        path.join(DIR, `b-${file}.console`),
      ],
      { cache: cacheOf('b') },
    );
    assert.is(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
  });

test('a blob corrupted in the registry is detected, not used, and that entry is built locally', async () => {
  const manifest = (await (
    await api(`${REPO}/manifests/${await squashfsTag()}`, 'application/vnd.oci.image.manifest.v1+json')
  ).json()) as { layers: { digest: string }[] };
  const digest = manifest.layers[0]!.digest.split(':')[1]!;
  const data = path.join(
    registry.storage,
    'docker/registry/v2/blobs/sha256',
    digest.slice(0, 2),
    digest,
    'data',
  );
  const bytes = readFileSync(data);
  const at = Math.floor(bytes.length / 2);
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
  writeFileSync(data, bytes);

  const r = await cli(buildArgs('minimal', 'iso', outOf('c'), '--cache-from', ref()), {
    cache: cacheOf('c'),
  });
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  const text = log('c');
  assert.match(text, new RegExp(`cache-from: pulled rootfs \\w+ from ${ref()}`));
  assert.match(
    text,
    /WARN.*cache-from: squashfs \w+ in .* is corrupt \(.*[Dd]igest.*\); not used, building squashfs/,
  );
  assert.match(text, /mksquashfs of the base rootfs/);
  assert.not.match(text, /cache-from: pulled squashfs/);
  assertCleanHost(assert, 'after the corrupt pull', cacheOf('c'));
});

async function squashfsTag(): Promise<string> {
  const { tags } = (await (await api(`${REPO}/tags/list`)).json()) as { tags: string[] };
  return tags.find((t) => t.startsWith('squashfs-'))!;
}

test('registry down: one clear warning, not asked again, a local build, exit 0', async () => {
  registry.stop();
  await new Promise((r) => setTimeout(r, 500));
  // C has a rootfs and a base squashfs, no base disk: the QCOW2 needs one
  const r = await cli(buildArgs('minimal', 'qcow2', outOf('c'), '--cache-from', ref(), '--cache-to', ref()), {
    cache: cacheOf('c'),
  });
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  const warnings = log('c')
    .split('\n')
    .filter((l) => / WARN /.test(l) && l.includes('cannot reach the registry'));
  // the first call finds it down (pushing the cached rootfs); the disk's pull does not ask again
  assert.is(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0]!,
    new RegExp(
      `cannot reach the registry 127.0.0.1:${registry.port} \\(.*connection refused.*\\); .*not asked again`,
    ),
  );
  assert.is(
    ran(log('c')).filter((c) => c.startsWith('skopeo ')).length,
    1,
    'skopeo ran again after the first failure',
  );
  assert.match(log('c'), /copying the base rootfs into the base disk/);
  assert.ok(existsSync(path.join(outOf('c'), 'minimal.qcow2')));
  assertCleanHost(assert, 'after the registry went down', cacheOf('c'));
});

test.run();
