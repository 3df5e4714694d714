/**
 * The remote stage cache without a registry: the reference grammar, skopeo's failures told apart,
 * the artifact layout checked blob by blob, and the pull/push logic against a registry simulated
 * by folders (skopeo answered by a double; tar and rm run for real), through Cache.obtain.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { entryShapeProblem } from '../../../src/cache/kinds.ts';
import {
  addBlob,
  CorruptArtifactError,
  checkArtifact,
  classifyRegistryFailure,
  entryManifest,
  entryTag,
  parseCacheRef,
  writeLayout,
} from '../../../src/cache/oci.ts';
import { RemoteCache, tlsFlags } from '../../../src/cache/remote.ts';
import { Cache } from '../../../src/cache/store.ts';
import { CommandError, UserError } from '../../../src/errors.ts';
import { recordingLogger, silentLogger } from '../../../src/log.ts';
import { processRunner, type Runner } from '../../../src/run/runner.ts';

const roots: string[] = [];
const tmp = (name: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `ibn-remote-${name}-`));
  roots.push(d);
  return d;
};
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

test('parseCacheRef: registry host required, loopback spoken to over plain HTTP, no tag', () => {
  assert.equal(parseCacheRef('127.0.0.1:5000/ib-native/cache', '--cache-from'), {
    ref: '127.0.0.1:5000/ib-native/cache',
    registry: '127.0.0.1:5000',
    repository: 'ib-native/cache',
    plainHttp: true,
  });
  assert.ok(parseCacheRef('localhost:5000/c', '--cache-to').plainHttp);
  assert.ok(parseCacheRef('localhost/c', '--cache-to').plainHttp);
  assert.ok(parseCacheRef('[::1]:5000/c', '--cache-to').plainHttp);
  const remote = parseCacheRef('registry.example.com/site/ib_cache', '--cache-to');
  assert.is(remote.plainHttp, false);
  assert.is(remote.repository, 'site/ib_cache');
  assert.is(parseCacheRef('harbor.example.com:8443/a/b/c', '--cache-to').plainHttp, false);
  // 127.0.0.1 as a prefix of another name is not the loopback
  assert.is(parseCacheRef('127.0.0.1.example.com/c', '--cache-to').plainHttp, false);
});

test('parseCacheRef: bad references name the flag and say what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['ib-native/cache', /names no registry host|not a registry host/],
    ['cache', /names no registry host/],
    ['reg.example.com/cache:latest', /has a tag/],
    ['https://reg.example.com/cache', /is a URL/],
    ['reg.example.com/Cache', /invalid path component "Cache"/],
    ['reg.example.com/a//b', /invalid path component ""/],
    ['reg.example.com/cache@sha256:abc', /digest/],
    ['user:pw@reg.example.com/cache', /digest or user part/],
    ['reg.example.com/ca che', /white space/],
    ['reg.example.com/cache\nx', /white space/],
    ['-reg.example.com/cache', /invalid registry host/],
    ['', /1 to 255/],
  ];
  for (const [value, why] of cases) {
    const e = (() => {
      try {
        parseCacheRef(value, '--cache-from');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.instance(e, UserError, value);
    assert.match((e as Error).message, /^--cache-from /, value);
    assert.match((e as Error).message, why, value);
  }
});

test('entryTag: only engine names (kind and hex key) make a tag', () => {
  assert.is(entryTag('rootfs', 'ce4902a8a388c880d7e51d19'), 'rootfs-ce4902a8a388c880d7e51d19');
  assert.throws(() => entryTag('rootfs', '../x'));
  assert.throws(() => entryTag('Root', 'abcdef12'));
  // every kind of entry has a tag (a kind with a digit too); an unknown kind none
  assert.is(entryTag('qcow2', 'ed7ecb6e00a3234bf1c7c54e'), 'qcow2-ed7ecb6e00a3234bf1c7c54e');
  assert.throws(() => entryTag('tree', 'abcdef12'), /not a cache entry name/);
});

test("classifyRegistryFailure: skopeo's messages as seen from Distribution 2.8", () => {
  const said = (m: string) => classifyRegistryFailure(`time="x" level=fatal msg="${m}"`);
  assert.is(
    said('reading manifest rootfs-x in 127.0.0.1:5055/c: manifest unknown: manifest unknown'),
    'missing',
  );
  assert.is(
    said(
      'pinging container registry 127.0.0.1:5056: Get "http://127.0.0.1:5056/v2/": dial tcp 127.0.0.1:5056: connect: connection refused',
    ),
    'unreachable',
  );
  assert.is(
    said('writing blob: happened during read: Digest did not match, expected sha256:0789, got sha256:9a6a'),
    'corrupt',
  );
  assert.is(said('reading manifest x: unauthorized: authentication required'), 'denied');
  // a host that is no registry (404 on /v2/) is not a missing entry
  assert.is(
    said('pinging container registry web.example.com: invalid status code from registry 404 (Not Found)'),
    'unreachable',
  );
  assert.is(said('something else entirely'), 'failed');
});

test('tlsFlags: only loopback registries are spoken to without TLS', () => {
  const local = parseCacheRef('127.0.0.1:5000/c', '--cache-to');
  const remote = parseCacheRef('reg.example.com/c', '--cache-to');
  assert.equal(tlsFlags(local, 'src'), ['--src-tls-verify=false']);
  assert.equal(tlsFlags(local, 'dest'), ['--dest-tls-verify=false']);
  assert.equal(tlsFlags(local, 'inspect'), ['--tls-verify=false']);
  assert.equal(tlsFlags(remote, 'src'), []);
});

/** An OCI layout holding one artifact for rootfs/abcdef12, its layer the given bytes. */
async function artifact(layer = 'layer bytes', config: object = {}): Promise<string> {
  const layout = path.join(tmp('layout'), 'l');
  mkdirSync(layout, { recursive: true });
  writeFileSync(path.join(layout, 'layer'), layer);
  const l = await addBlob(layout, path.join(layout, 'layer'));
  const c = await addBlob(
    layout,
    Buffer.from(
      JSON.stringify({ kind: 'rootfs', key: 'abcdef12', createdAt: '2026-12-01T00:00:00Z', ...config }),
    ),
  );
  await writeLayout(layout, entryManifest(c, l, '2026-12-01T00:00:00Z'), 'rootfs-abcdef12');
  return layout;
}

test('checkArtifact: a whole artifact passes; its layer read from the blob named by its digest', async () => {
  const layout = await artifact();
  const a = await checkArtifact(layout, 'rootfs-abcdef12', { kind: 'rootfs', key: 'abcdef12' });
  assert.is(readFileSync(a.layer, 'utf8'), 'layer bytes');
  assert.is(a.config.createdAt, '2026-12-01T00:00:00Z');
});

test('checkArtifact: a changed byte, a missing blob, another entry or another tag is refused', async () => {
  const want = { kind: 'rootfs', key: 'abcdef12' };
  const refused = async (layout: string, why: RegExp, w = want, tag = 'rootfs-abcdef12') => {
    try {
      await checkArtifact(layout, tag, w);
    } catch (e) {
      assert.instance(e, CorruptArtifactError);
      assert.match((e as Error).message, why);
      return;
    }
    assert.unreachable(`accepted (${why})`);
  };
  const flipped = await artifact();
  const blob = (await checkArtifact(flipped, 'rootfs-abcdef12', want)).layer;
  writeFileSync(blob, 'layer bytez');
  await refused(flipped, /layer blob does not match its digest/);
  writeFileSync(blob, 'short');
  await refused(flipped, /is 5 bytes, its descriptor says 11/);
  rmSync(blob);
  await refused(flipped, /layer blob sha256:[0-9a-f]+ is missing/);
  await refused(await artifact(), /holds rootfs abcdef12, not disk abcdef12/, {
    kind: 'disk',
    key: 'abcdef12',
  });
  await refused(await artifact(), /names 0 manifests/, want, 'rootfs-00000000');
  await refused(await artifact('x', { createdAt: 'never' }), /no creation time/);
});

/**
 * A registry simulated by folders (one OCI layout per tag) and a runner that answers skopeo from
 * it, running every other command (tar, rm) for real. `down` makes the registry unreachable.
 */
function simulatedRegistry() {
  const store = tmp('registry');
  const real = processRunner({ logger: silentLogger });
  const state = { down: false, failTar: false, skopeo: [] as string[][] };
  const fail = (msg: string) => new CommandError(['skopeo'], 1, `time="x" level=fatal msg="${msg}"`);
  const tagOf = (ref: string) => ref.split(':').at(-1)!;
  const runner: Runner = {
    toolTime: new Map(),
    killAll() {},
    async run(argv, o = {}) {
      if (argv[0] === 'tar' && state.failTar)
        throw new CommandError([...argv], 2, 'tar: disk.raw: Cannot write: No space left on device');
      if (argv[0] !== 'skopeo') return real.run(argv, o);
      state.skopeo.push([...argv]);
      if (state.down)
        throw fail('pinging container registry: dial tcp 127.0.0.1:1: connect: connection refused');
      const docker = argv.find((a) => a.startsWith('docker://'))!;
      const oci = argv.find((a) => a.startsWith('oci:'));
      const stored = path.join(store, tagOf(docker));
      const ok = { stdout: '', stderr: '', exitCode: 0, durationMs: 0 };
      if (argv[1] === 'inspect') {
        if (!existsSync(stored)) throw fail('reading manifest: manifest unknown: manifest unknown');
        return { ...ok, stdout: configOf(stored) };
      }
      const local = path.join(o.cwd!, oci!.split(':')[1]!);
      if (argv.indexOf(docker) < argv.indexOf(oci!)) {
        if (!existsSync(stored)) throw fail('reading manifest: manifest unknown: manifest unknown');
        cpSync(stored, local, { recursive: true });
      } else cpSync(local, stored, { recursive: true });
      return ok;
    },
  };
  return { store, runner, state };
}

/** The config blob of the one artifact of a layout, as `skopeo inspect --config --raw` prints it. */
function configOf(layout: string): string {
  const blob = (digest: string) => readFileSync(path.join(layout, 'blobs', ...digest.split(':')), 'utf8');
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
  return blob(JSON.parse(blob(index.manifests[0].digest)).config.digest);
}

function remoteFor(reg: ReturnType<typeof simulatedRegistry>, cacheRoot: string, logger = silentLogger) {
  const ref = parseCacheRef('127.0.0.1:5000/ib/cache', '--cache-to');
  return new RemoteCache({
    from: ref,
    to: ref,
    workDir: path.join(cacheRoot, 'work'),
    runner: reg.runner,
    logger,
    version: 't',
  });
}

test('obtain with a remote: built and pushed by one cache, pulled by another (no build), time kept', async () => {
  const reg = simulatedRegistry();
  const rootA = tmp('cache-a');
  const a = new Cache(rootA, reg.runner, silentLogger, remoteFor(reg, rootA));
  const build = async (dir: string) => {
    mkdirSync(path.join(dir, 'tree', 'etc'), { recursive: true });
    writeFileSync(path.join(dir, 'tree', 'etc', 'hostname'), 'node\n');
  };
  const made = await a.obtain('rootfs', 'abcdef12', { summary: 's', usedBy: 'p' }, build);
  assert.equal([made.hit, made.pulled], [false, false]);
  assert.ok(existsSync(path.join(reg.store, 'rootfs-abcdef12', 'index.json')), 'not pushed');
  const push = reg.state.skopeo.find((c) => c[1] === 'copy')!;
  assert.ok(push.includes('--preserve-digests') && push.includes('--dest-tls-verify=false'), push.join(' '));

  const rootB = tmp('cache-b');
  const logger = recordingLogger();
  const b = new Cache(rootB, reg.runner, logger, remoteFor(reg, rootB, logger));
  const got = await b.obtain('rootfs', 'abcdef12', { summary: 's', usedBy: 'q' }, async () => {
    throw new Error(`built although the registry has it:\n${logger.lines.join('\n')}`);
  });
  assert.equal([got.hit, got.pulled], [false, true]);
  assert.is(readFileSync(path.join(got.dir, 'tree', 'etc', 'hostname'), 'utf8'), 'node\n');
  assert.is(b.info('rootfs', 'abcdef12')!.createdAt, a.info('rootfs', 'abcdef12')!.createdAt);
  assert.ok(
    logger.lines.some((l) => /^info cache-from: pulled rootfs abcdef12/.test(l)),
    logger.lines.join('\n'),
  );
  assert.ok(logger.lines.some((l) => /^info cache-to: rootfs abcdef12 is in .* already/.test(l)));
  assert.equal(readdirSync(path.join(rootB, 'work')), [], 'scratch layouts left behind');
});

test('obtain with a remote: a corrupt artifact is not used and the entry is built', async () => {
  const reg = simulatedRegistry();
  const rootA = tmp('cache-a');
  const a = new Cache(rootA, reg.runner, silentLogger, remoteFor(reg, rootA));
  await a.obtain('squashfs', 'abcdef12', { summary: 's', usedBy: 'p' }, async (dir) => {
    writeFileSync(path.join(dir, 'filesystem.squashfs'), 'x'.repeat(4096));
  });
  const stored = path.join(reg.store, 'squashfs-abcdef12');
  const layer = (await checkArtifact(stored, 'squashfs-abcdef12', { kind: 'squashfs', key: 'abcdef12' }))
    .layer;
  const bytes = readFileSync(layer);
  const at = bytes.length - 20;
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
  writeFileSync(layer, bytes);
  const rootB = tmp('cache-b');
  const logger = recordingLogger();
  const b = new Cache(rootB, reg.runner, logger, remoteFor(reg, rootB, logger));
  let built = 0;
  const got = await b.obtain('squashfs', 'abcdef12', { summary: 's', usedBy: 'q' }, async (dir) => {
    built++;
    writeFileSync(path.join(dir, 'filesystem.squashfs'), 'fresh');
  });
  assert.is(built, 1);
  assert.equal([got.hit, got.pulled], [false, false]);
  assert.ok(
    logger.lines.some((l) =>
      /^warn cache-from: squashfs abcdef12 .* is corrupt .*does not match its digest/.test(l),
    ),
    logger.lines.join('\n'),
  );
});

test('obtain with a remote: an unreachable registry is a warning, asked once, and the build goes on', async () => {
  const reg = simulatedRegistry();
  reg.state.down = true;
  const root = tmp('cache');
  const logger = recordingLogger();
  const c = new Cache(root, reg.runner, logger, remoteFor(reg, root, logger));
  let built = 0;
  const build = async (dir: string) => {
    built++;
    writeFileSync(path.join(dir, 'f'), 'x');
  };
  await c.obtain('rootfs', 'abcdef12', { summary: 's', usedBy: 'p' }, build);
  await c.obtain('disk', 'abcdef12', { summary: 's', usedBy: 'p' }, build);
  assert.is(built, 2);
  assert.is(reg.state.skopeo.length, 1, 'the registry was asked again after it was found down');
  const warnings = logger.lines.filter((l) => l.startsWith('warn '));
  assert.is(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0]!,
    /cache-from: cannot reach the registry 127.0.0.1:5000 \(.*connection refused\); building rootfs abcdef12 locally/,
  );
});

test('a hostile artifact (digests right) writes nothing outside its entry: ../ members, links out', async () => {
  // what a registry's owner could push: a layer whose digests match, built to escape the entry
  const outside = tmp('outside');
  const work = tmp('hostile');
  const [d1, d2] = [path.join(work, 'd1'), path.join(work, 'd2')];
  mkdirSync(d1);
  mkdirSync(path.join(d2, 'evil'), { recursive: true });
  symlinkSync(outside, path.join(d1, 'evil'));
  writeFileSync(path.join(d2, 'evil', 'planted'), 'through the link');
  writeFileSync(path.join(d2, 'plain'), 'up and out');
  const tar = path.join(work, 'layer.tar');
  const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1));
  sh(['tar', '-cf', tar, '-C', d1, 'evil']);
  sh(['tar', '-rf', tar, '-C', d2, 'evil/planted']);
  sh([
    'tar',
    '-rf',
    tar,
    '-C',
    d2,
    '--transform',
    `s,^plain,../../${path.basename(outside)}/escaped,`,
    'plain',
  ]);
  sh(['zstd', '-q', '--rm', tar]);
  const reg = simulatedRegistry();
  const layout = path.join(reg.store, 'rootfs-abcdef12');
  mkdirSync(layout);
  const l = await addBlob(layout, `${tar}.zst`);
  const c = await addBlob(
    layout,
    Buffer.from(JSON.stringify({ kind: 'rootfs', key: 'abcdef12', createdAt: new Date().toISOString() })),
  );
  await writeLayout(layout, entryManifest(c, l, new Date().toISOString()), 'rootfs-abcdef12');

  const root = tmp('cache');
  const c1 = new Cache(root, reg.runner, silentLogger, remoteFor(reg, root));
  const got = await c1.obtain('rootfs', 'abcdef12', { summary: 's', usedBy: 'p' }, async (dir) => {
    writeFileSync(path.join(dir, 'built'), 'locally');
  });
  assert.equal(readdirSync(outside), [], 'the artifact wrote outside its entry');
  // tar refused the write through the link, so the entry was built locally instead
  assert.equal([got.pulled, existsSync(path.join(got.dir, 'built'))], [false, true]);
});

test('a push or pull that fails on this side (tar) is a warning; the entry is made, no scratch left', async () => {
  const reg = simulatedRegistry();
  reg.state.failTar = true;
  const root = tmp('cache');
  const logger = recordingLogger();
  const c = new Cache(root, reg.runner, logger, remoteFor(reg, root, logger));
  const got = await c.obtain('disk', 'abcdef12', { summary: 's', usedBy: 'p' }, async (dir) => {
    writeFileSync(path.join(dir, 'disk.raw'), 'x');
  });
  assert.ok(existsSync(path.join(got.dir, 'disk.raw')));
  assert.equal(
    logger.lines.filter((l) => l.startsWith('warn ')).map((l) => l.replace(/\(.*\)/, '(…)')),
    ['warn cache-to: pushing disk abcdef12 failed (…); the build goes on without pushing it'],
  );
  assert.equal(readdirSync(path.join(root, 'work')), []);
});

test("entryShapeProblem: exactly the entry's one folder or file, never a link, nothing beside it", () => {
  const entry = (make: (d: string) => void) => {
    const d = tmp('shape');
    make(d);
    return d;
  };
  assert.is(
    entryShapeProblem(
      'rootfs',
      entry((d) => mkdirSync(path.join(d, 'tree/etc'), { recursive: true })),
    ),
    undefined,
  );
  assert.is(
    entryShapeProblem(
      'disk',
      entry((d) => writeFileSync(path.join(d, 'disk.raw'), '')),
    ),
    undefined,
  );
  // a tree that is a link to the host's root would put the host into the image
  assert.match(
    entryShapeProblem(
      'rootfs',
      entry((d) => symlinkSync('/', path.join(d, 'tree'))),
    )!,
    /tree is not a folder \(a link\)/,
  );
  assert.match(
    entryShapeProblem(
      'disk',
      entry((d) => symlinkSync('/dev/sda', path.join(d, 'disk.raw'))),
    )!,
    /disk.raw is not a file \(a link\)/,
  );
  assert.match(
    entryShapeProblem(
      'squashfs',
      entry((d) => {
        writeFileSync(path.join(d, 'filesystem.squashfs'), '');
        writeFileSync(path.join(d, 'extra'), '');
      }),
    )!,
    /holds "extra", "filesystem.squashfs", not only filesystem.squashfs/,
  );
  assert.match(
    entryShapeProblem(
      'disk',
      entry(() => undefined),
    )!,
    /holds nothing/,
  );
  assert.match(
    entryShapeProblem(
      'bogus',
      entry(() => undefined),
    )!,
    /unknown kind/,
  );
});

test.run();
