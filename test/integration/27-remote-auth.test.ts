/**
 * Issue 15 (1): registry credentials come from the standard auth file. A registry that requires a
 * login (Distribution with htpasswd, plain HTTP on 127.0.0.1) refuses a push without one: a
 * warning, nothing pushed, the entry still made. With REGISTRY_AUTH_FILE naming a docker/podman
 * auth file for it, the same entry is pushed and another cache pulls it. Real skopeo and registry;
 * the entries are small trees made here (no image build), so this file takes seconds.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCacheRef } from '../../src/cache/oci.ts';
import { RemoteCache } from '../../src/cache/remote.ts';
import { Cache } from '../../src/cache/store.ts';
import { recordingLogger, silentLogger } from '../../src/log.ts';
import { processRunner } from '../../src/run/runner.ts';
import { ownScratch } from '../helpers/host.ts';
import { type Registry, startRegistry, TEST_LOGIN } from '../helpers/registry.ts';

const DIR = ownScratch('remote-auth');
let registry: Registry;
const KEY = '0123456789abcdef01234567';

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  registry = await startRegistry(path.join(DIR, 'registry'), 'ib-native/cache', { auth: true });
});
test.after(() => {
  registry?.stop();
  delete process.env.REGISTRY_AUTH_FILE;
});

/** A cache whose remote is the registry, logging to `logger`. */
function cacheAt(name: string, logger = silentLogger): Cache {
  const root = path.join(DIR, name);
  const runner = processRunner({ logger: silentLogger });
  const ref = parseCacheRef(registry.ref, '--cache-to');
  const remote = new RemoteCache({
    from: ref,
    to: ref,
    workDir: path.join(root, 'work'),
    runner,
    logger,
    version: 't',
  });
  return new Cache(root, runner, logger, remote);
}

const makeTree = async (dir: string) => {
  mkdirSync(path.join(dir, 'tree', 'etc'), { recursive: true });
  writeFileSync(path.join(dir, 'tree', 'etc', 'hostname'), 'pushed-node\n');
};

const tags = async () => {
  const r = await registry.api('ib-native/cache/tags/list');
  return r.ok ? ((await r.json()) as { tags: string[] }).tags : [];
};

test('without a login the registry refuses: one warning naming the auth file, nothing pushed, the entry made', async () => {
  const logger = recordingLogger();
  const got = await cacheAt('no-login', logger).obtain(
    'rootfs',
    KEY,
    { summary: 's', usedBy: 'p' },
    makeTree,
  );
  assert.is(readFileSync(path.join(got.dir, 'tree/etc/hostname'), 'utf8'), 'pushed-node\n');
  const warnings = logger.lines.filter((l) => l.startsWith('warn '));
  assert.is(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0]!,
    /127\.0\.0\.1:\d+ refused access \(.*(unauthorized|authentication required).*\).*skopeo login/,
  );
  assert.equal(await tags(), []);
});

test('with REGISTRY_AUTH_FILE (the docker/podman auth.json format) it pushes, and another cache pulls', async () => {
  const auth = path.join(DIR, 'auth.json');
  const token = Buffer.from(`${TEST_LOGIN.user}:${TEST_LOGIN.password}`).toString('base64');
  writeFileSync(auth, JSON.stringify({ auths: { [`127.0.0.1:${registry.port}`]: { auth: token } } }), {
    mode: 0o600,
  });
  process.env.REGISTRY_AUTH_FILE = auth;
  const logger = recordingLogger();
  await cacheAt('no-login', logger).obtain('rootfs', KEY, { summary: 's', usedBy: 'p' }, async () => {
    throw new Error('rebuilt a cached entry');
  });
  assert.ok(
    logger.lines.some((l) => /^info cache-to: pushed rootfs/.test(l)),
    logger.lines.join('\n'),
  );
  assert.equal(await tags(), [`rootfs-${KEY}`]);

  const other = recordingLogger();
  const pulled = await cacheAt('puller', other).obtain(
    'rootfs',
    KEY,
    { summary: 's', usedBy: 'q' },
    async () => {
      throw new Error('built although the registry has it');
    },
  );
  assert.ok(pulled.pulled);
  assert.is(readFileSync(path.join(pulled.dir, 'tree/etc/hostname'), 'utf8'), 'pushed-node\n');
  // the password is in no log line
  assert.not.ok(
    [...logger.lines, ...other.lines].some((l) => l.includes(TEST_LOGIN.password) || l.includes(token)),
  );
});

test.run();
