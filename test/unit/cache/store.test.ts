import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { liveLeases, processStart, takeLease } from '../../../src/cache/lease.ts';
import { Cache, canonicalJson, contentKey, prunable } from '../../../src/cache/store.ts';
import { recordingLogger, silentLogger } from '../../../src/log.ts';
import { processRunner } from '../../../src/run/runner.ts';

const roots: string[] = [];
function cache(logger = silentLogger): Cache {
  const root = mkdtempSync(path.join(tmpdir(), 'ib-native-cache-'));
  roots.push(root);
  return new Cache(root, processRunner({ logger: silentLogger }), logger);
}
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const opts = { summary: 'test entry', usedBy: 'p1' };

test('canonicalJson: sorted keys at every depth, undefined members dropped, arrays keep order', () => {
  assert.is(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }),
    '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
  );
  assert.is(canonicalJson({ a: 1, u: undefined }), '{"a":1}');
  assert.is(canonicalJson([2, 1]), '[2,1]');
  assert.is(canonicalJson(null), 'null');
  assert.is(canonicalJson('s"q'), '"s\\"q"');
  assert.is(canonicalJson({}), '{}');
});

test('contentKey: independent of key order and of undefined members; any value change changes it', () => {
  const base = {
    v: 3,
    distro: { name: 'debian', mirror: 'http://m' },
    install: ['a', 'b=1'],
    blocked: [] as string[],
  };
  const k = contentKey(base);
  assert.match(k, /^[0-9a-f]{24}$/);
  assert.is(
    contentKey({ blocked: [], install: ['a', 'b=1'], distro: { mirror: 'http://m', name: 'debian' }, v: 3 }),
    k,
  );
  assert.is(contentKey({ ...base, extra: undefined }), k);
  const variants = [
    { ...base, v: 4 },
    { ...base, v: '3' },
    { ...base, distro: { name: 'debian', mirror: 'http://m/' } },
    { ...base, install: ['b=1', 'a'] },
    { ...base, install: ['a', 'b=2'] },
    { ...base, blocked: ['x'] },
    { ...base, extra: null },
    { ...base, extra: false },
  ];
  const keys = new Set(variants.map(contentKey));
  assert.is(keys.size, variants.length);
  assert.not.ok(keys.has(k));
});

test('obtain: builds on a miss, hits on the second call, records who used it', async () => {
  const c = cache();
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    writeFileSync(path.join(dir, 'payload'), `build ${builds}`);
  };
  const first = await c.obtain('rootfs', 'k1', opts, build);
  assert.equal(first, { dir: path.join(c.root, 'rootfs', 'k1'), hit: false, pulled: false });
  assert.is(readFileSync(path.join(first.dir, 'payload'), 'utf8'), 'build 1');
  const info = c.info('rootfs', 'k1')!;
  assert.equal(
    { ...info, createdAt: '', bytes: 0 },
    { kind: 'rootfs', key: 'k1', createdAt: '', summary: 'test entry', usedBy: ['p1'], bytes: 0 },
  );
  // the space it took, for the next build's disk space estimate (one block for the payload)
  assert.ok(info.bytes! > 0 && info.bytes! <= 64 * 1024, String(info.bytes));
  assert.ok(Date.now() - Date.parse(info.createdAt) < 60_000);
  const second = await c.obtain('rootfs', 'k1', { ...opts, usedBy: 'p2' }, build);
  assert.equal(second, { dir: first.dir, hit: true, pulled: false });
  assert.is(builds, 1);
  assert.equal(c.info('rootfs', 'k1')!.usedBy, ['p1', 'p2']);
  // only the entry is left in the kind folder: no building/old folders, and the lock is gone
  assert.equal(readdirSync(path.join(c.root, 'rootfs')), ['k1']);
  assert.equal(readdirSync(path.join(c.root, 'locks')), []);
});

test('obtain: refresh rebuilds and replaces the entry', async () => {
  const c = cache();
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    writeFileSync(path.join(dir, `payload-${builds}`), '');
  };
  await c.obtain('rootfs', 'k', opts, build);
  const r = await c.obtain('rootfs', 'k', { ...opts, refresh: true }, build);
  assert.is(r.hit, false);
  assert.is(builds, 2);
  assert.equal(readdirSync(r.dir).sort(), ['entry.json', 'payload-2']);
  assert.equal(readdirSync(path.join(c.root, 'rootfs')), ['k']);
});

test('obtain: an entry older than maxAge is rebuilt (and says so); a younger one is used', async () => {
  const logger = recordingLogger();
  const c = cache(logger);
  let builds = 0;
  const build = async () => {
    builds++;
  };
  await c.obtain('rootfs', 'k', opts, build);
  const entryFile = path.join(c.root, 'rootfs/k/entry.json');
  const e = JSON.parse(readFileSync(entryFile, 'utf8'));
  writeFileSync(
    entryFile,
    JSON.stringify({ ...e, createdAt: new Date(Date.now() - 3 * 86400000).toISOString() }),
  );
  assert.is((await c.obtain('rootfs', 'k', { ...opts, maxAgeMs: 7 * 86400000 }, build)).hit, true);
  assert.is(builds, 1);
  assert.is((await c.obtain('rootfs', 'k', { ...opts, maxAgeMs: 2 * 86400000 }, build)).hit, false);
  assert.is(builds, 2);
  assert.ok(
    logger.lines.includes('info cache: rootfs k is 3.0 days old; rebuilding it (--max-age)'),
    logger.lines.join('\n'),
  );
  assert.is((await c.obtain('rootfs', 'k', { ...opts, maxAgeMs: 2 * 86400000 }, build)).hit, true);
});

test('obtain: a failed build leaves no entry and no scratch folder, and the error goes through', async () => {
  const c = cache();
  try {
    await c.obtain('rootfs', 'bad', opts, async (dir) => {
      writeFileSync(path.join(dir, 'half'), '');
      throw new Error('debootstrap failed');
    });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.is((e as Error).message, 'debootstrap failed');
  }
  assert.is(c.info('rootfs', 'bad'), undefined);
  assert.equal(readdirSync(path.join(c.root, 'rootfs')), []);
  assert.equal(readdirSync(path.join(c.root, 'locks')), []);
  // a later build of the same key works
  assert.is((await c.obtain('rootfs', 'bad', opts, async () => {})).hit, false);
  assert.ok(existsSync(path.join(c.root, 'rootfs/bad/entry.json')));
});

test('obtain: a failed refresh keeps the previous entry', async () => {
  const c = cache();
  await c.obtain('rootfs', 'k', opts, async (dir) => writeFileSync(path.join(dir, 'v1'), ''));
  const before = c.info('rootfs', 'k');
  const err = await c
    .obtain('rootfs', 'k', { ...opts, refresh: true }, async (dir) => {
      writeFileSync(path.join(dir, 'v2'), '');
      throw new Error('mirror unreachable');
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.instance(err, Error, 'the failed refresh must throw');
  assert.is((err as Error).message, 'mirror unreachable', 'the build error goes through unchanged');
  assert.equal(readdirSync(path.join(c.root, 'rootfs/k')).sort(), ['entry.json', 'v1']);
  assert.equal(c.info('rootfs', 'k'), before);
  assert.equal(readdirSync(path.join(c.root, 'rootfs')), ['k'], 'no half-built folder left');
});

test('obtain: concurrent calls for the same key build once; the other waits and hits', async () => {
  // the build finishes only once the second call is seen waiting for the lock (no timers)
  let waiting!: () => void;
  const seenWaiting = new Promise<void>((r) => {
    waiting = r;
  });
  const logger = {
    ...silentLogger,
    info: (m: string) => m.includes('waiting for another build') && waiting(),
  };
  const c = cache(logger);
  let builds = 0;
  const build = async (dir: string) => {
    builds++;
    await seenWaiting;
    writeFileSync(path.join(dir, 'payload'), '');
  };
  const [a, b] = await Promise.all([
    c.obtain('rootfs', 'same', opts, build),
    c.obtain('rootfs', 'same', { ...opts, usedBy: 'p2' }, build),
  ]);
  assert.is(builds, 1);
  assert.equal([a.hit, b.hit].sort(), [false, true]);
  assert.is(a.dir, b.dir);
  assert.equal(c.info('rootfs', 'same')!.usedBy.sort(), ['p1', 'p2']);
});

test('list and prune: only complete entries; prune --all removes them and the package cache', async () => {
  const c = cache();
  await c.obtain('rootfs', 'k', opts, async (dir) => writeFileSync(path.join(dir, 'f'), '12345'));
  writeFileSync(path.join(c.packages, 'a.deb'), 'x');
  const list = c.list();
  assert.equal(
    list.map((e) => [e.kind, e.key, e.bytes > 5]),
    [['rootfs', 'k', true]],
  );
  assert.equal(await c.prune({ olderThanDays: 1 }), { removed: [], kept: [] });
  // the handle that obtained the entry lets go of it first (a build does at its end)
  c.release();
  assert.equal(await c.prune({ all: true }), { removed: ['rootfs/k', 'packages'], kept: [] });
  assert.equal(c.list(), []);
  assert.equal(readdirSync(c.packages), []);
  // downloaded repo keys and archive keyrings go with --all too
  mkdirSync(path.join(c.root, 'keys'));
  writeFileSync(path.join(c.root, 'keys', `${'A'.repeat(40)}.asc`), 'k');
  mkdirSync(path.join(c.root, 'keyrings'));
  assert.equal(await c.prune({ all: true }), { removed: ['packages', 'keys', 'keyrings'], kept: [] });
  assert.not.ok(existsSync(path.join(c.root, 'keys')) || existsSync(path.join(c.root, 'keyrings')));
});

test('prune --profile removes the entries no other profile used, with --older-than both must hold', async () => {
  const e = (usedBy: string[], ageDays = 0) => ({ usedBy, ageDays });
  assert.ok(prunable(e(['a']), { onlyUsedBy: ['a', 'b'] }));
  assert.ok(prunable(e(['a', 'b']), { onlyUsedBy: ['a', 'b'] }));
  assert.not.ok(prunable(e(['a', 'c']), { onlyUsedBy: ['a', 'b'] }));
  assert.not.ok(prunable(e([]), { onlyUsedBy: ['a'] }));
  assert.not.ok(prunable(e(['a'], 1), { onlyUsedBy: ['a'], olderThanDays: 2 }));
  assert.ok(prunable(e(['a'], 3), { onlyUsedBy: ['a'], olderThanDays: 2 }));
  assert.not.ok(prunable(e(['a'], 3), {}));
  const c = cache();
  await c.obtain('rootfs', 'mine', { ...opts, usedBy: 'p1' }, async (dir) =>
    writeFileSync(path.join(dir, 'f'), '1'),
  );
  await c.obtain('rootfs', 'shared', { ...opts, usedBy: 'p1' }, async (dir) =>
    writeFileSync(path.join(dir, 'f'), '1'),
  );
  await sameRoot(c).obtain('rootfs', 'shared', { ...opts, usedBy: 'p2' }, async () => undefined);
  c.release();
  assert.equal(await c.prune({ onlyUsedBy: ['p1'] }), { removed: ['rootfs/mine'], kept: [] });
  assert.equal(
    c.list().map((x) => x.key),
    ['shared'],
  );
});

/** Another handle on the same cache folder: another build, as far as leases go. */
function sameRoot(c: Cache, logger = silentLogger): Cache {
  return new Cache(c.root, processRunner({ logger: silentLogger }), logger);
}

test('prune keeps what a running build holds (and says so), in every mode; removes it once released', async () => {
  const build = cache();
  await build.useShared('p1');
  await build.obtain('rootfs', 'k', opts, async (dir) => writeFileSync(path.join(dir, 'f'), ''));
  const entryFile = path.join(build.root, 'rootfs/k/entry.json');
  const e = JSON.parse(readFileSync(entryFile, 'utf8'));
  writeFileSync(
    entryFile,
    JSON.stringify({ ...e, createdAt: new Date(Date.now() - 30 * 86400000).toISOString() }),
  );
  writeFileSync(path.join(build.packages, 'a.deb'), 'x');
  const operator = sameRoot(build);
  const inUse = 'in use by a running build (p1), kept';
  assert.equal(await operator.prune({ olderThanDays: 7 }), { removed: [], kept: [`rootfs/k ${inUse}`] });
  assert.equal(await operator.prune({ all: true }), {
    removed: [],
    kept: [`rootfs/k ${inUse}`, `packages, keys and keyrings ${inUse}`],
  });
  assert.ok(existsSync(path.join(build.root, 'rootfs/k/f')));
  assert.ok(existsSync(path.join(build.packages, 'a.deb')));
  build.release();
  assert.equal(await operator.prune({ all: true }), { removed: ['rootfs/k', 'packages'], kept: [] });
  assert.not.ok(existsSync(path.join(build.root, 'rootfs/k')));
  assert.equal(readdirSync(path.join(build.root, 'leases')), [], 'no lease folders left');
  assert.equal(readdirSync(path.join(build.root, 'locks')), [], 'no locks left');
});

test('prune keeps an entry a build is making (its lock is held)', async () => {
  const c = cache();
  await c.obtain('rootfs', 'k', opts, async () => {});
  c.release();
  writeFileSync(path.join(c.root, 'locks', 'rootfs-k.lock'), String(process.pid));
  assert.equal(await sameRoot(c).prune({ all: true }), {
    removed: ['packages'],
    kept: ['rootfs/k being made or taken by a running build, kept'],
  });
  assert.ok(c.info('rootfs', 'k'));
});

test('prune against a build in another process: kept while it runs, removed once it is killed', async () => {
  const c = cache();
  const child = path.join(c.root, 'holder.mts');
  const src = (f: string) => fileURLToPath(new URL(`../../../src/${f}`, import.meta.url));
  const [store, runner, log] = [src('cache/store.ts'), src('run/runner.ts'), src('log.ts')];
  writeFileSync(
    child,
    [
      `import { Cache } from ${JSON.stringify(store)};`,
      `import { processRunner } from ${JSON.stringify(runner)};`,
      `import { silentLogger } from ${JSON.stringify(log)};`,
      `const c = new Cache(${JSON.stringify(c.root)}, processRunner({ logger: silentLogger }), silentLogger);`,
      `await c.useShared('other');`,
      `await c.obtain('rootfs', 'k', { summary: 's', usedBy: 'other' }, async () => {});`,
      `process.stdout.write('held\\n');`,
      `process.stdin.resume();`,
    ].join('\n'),
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('held')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`the holder exited (${code}) before holding`)));
    });
    assert.equal(await c.prune({ all: true }), {
      removed: [],
      kept: [
        'rootfs/k in use by a running build (other), kept',
        'packages, keys and keyrings in use by a running build (other), kept',
      ],
    });
    assert.ok(c.info('rootfs', 'k'));
  } finally {
    proc.kill('SIGKILL');
    await exited;
  }
  // a killed build holds nothing
  assert.equal(await c.prune({ all: true }), { removed: ['rootfs/k', 'packages'], kept: [] });
});

test('a refresh while another build uses the entry reuses it (and says so) instead of replacing it', async () => {
  const logger = recordingLogger();
  const holder = cache();
  await holder.obtain('rootfs', 'k', opts, async (dir) => writeFileSync(path.join(dir, 'v1'), ''));
  const other = sameRoot(holder, logger);
  let builds = 0;
  const rebuild = async () => {
    builds++;
  };
  const r = await other.obtain('rootfs', 'k', { ...opts, usedBy: 'p2', refresh: true }, rebuild);
  assert.equal([r.hit, builds], [true, 0]);
  assert.ok(existsSync(path.join(holder.root, 'rootfs/k/v1')));
  assert.match(
    logger.lines.join('\n'),
    /warn cache: rootfs k is in use by a running build \(p1, pid \d+\); reusing it/,
  );
  // its own lease does not stop a handle's refresh; once the other lets go, refresh rebuilds
  holder.release();
  assert.is((await other.obtain('rootfs', 'k', { ...opts, refresh: true }, rebuild)).hit, false);
  assert.is(builds, 1);
});

test('leases: a dead pid, or a live pid with another start time (a reused pid), holds nothing', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-lease-'));
  roots.push(dir);
  const l = takeLease(dir, 'me');
  assert.equal(
    liveLeases(dir).map((x) => [x.pid, x.by]),
    [[process.pid, 'me']],
  );
  const start = processStart(process.pid);
  assert.match(start, /^\d+$/);
  const dead = spawnSync('true').pid!;
  writeFileSync(path.join(dir, `${dead}.${start}.1`), 'dead');
  writeFileSync(path.join(dir, `${process.pid}.${Number(start) + 1}.1`), 'reused pid');
  assert.equal(liveLeases(dir).length, 1);
  assert.equal(readdirSync(dir), [path.basename(l.file)], 'dead leases are cleared');
  l.release();
  assert.equal(liveLeases(dir), []);
});

test.run();
