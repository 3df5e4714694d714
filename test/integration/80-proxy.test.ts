/**
 * Issue 5, proxy: a build with --proxy sends its package downloads through a real proxy
 * (Debian's squid on 127.0.0.1, started here), and the proxy URL's credentials appear in no
 * log, no manifest and not in the image. Uses its own empty cache so that packages are
 * really downloaded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, BIN, cli, DISTRO, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('proxy');
const CACHE = path.join(DIR, 'cache');
const OUT = path.join(DIR, 'out');
const PORT = 3129;
const SECRET = 's3cr3t-Pr0xy-pw';
let squid: ChildProcess | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(path.join(DIR, 'squid'), { recursive: true });
  mkdirSync(OUT, { recursive: true });
  const s = path.join(DIR, 'squid');
  const { uid, gid } = await execa('id', ['-u', 'proxy']).then(async (u) => ({
    uid: Number(u.stdout),
    gid: Number((await execa('id', ['-g', 'proxy'])).stdout),
  }));
  chownSync(s, uid, gid);
  writeFileSync(
    path.join(s, 'squid.conf'),
    [
      `http_port 127.0.0.1:${PORT}`,
      'acl local src 127.0.0.1/32',
      'http_access allow local',
      'http_access deny all',
      `access_log stdio:${s}/access.log`,
      `cache_log ${s}/cache.log`,
      `pid_filename ${s}/squid.pid`,
      `coredump_dir ${s}`,
      'cache deny all',
      'cache_mem 8 MB',
      'shutdown_lifetime 1 seconds',
      'cache_effective_user proxy',
      '',
    ].join('\n'),
  );
  squid = spawn('squid', ['-N', '-f', path.join(s, 'squid.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const r = await execa('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${PORT}`], { reject: false });
    if (r.exitCode === 0) return;
    await sleep(200);
  }
  throw new Error(
    `squid did not start: ${existsSync(path.join(s, 'cache.log')) ? readFileSync(path.join(s, 'cache.log'), 'utf8') : ''}`,
  );
});

test.after(() => {
  squid?.kill('SIGTERM');
  rmSync(CACHE, { recursive: true, force: true });
});

test('package downloads go through --proxy, its credentials go nowhere, and SIGINT in the rootfs stage cleans up', async () => {
  // the build is stopped once every package is downloaded and installed (initramfs step): that
  // is all the proxy sees, and it doubles as an interruption inside the rootfs stage
  const child = execa(
    process.execPath,
    [
      BIN,
      '--cache-dir',
      CACHE,
      'build',
      '--profile',
      'minimal',
      '--distro',
      DISTRO,
      '--format',
      'iso',
      '--output',
      OUT,
      '--proxy',
      `http://ibn:${SECRET}@127.0.0.1:${PORT}`,
      '-v',
    ],
    { reject: false, all: true, env: { http_proxy: '', https_proxy: '', no_proxy: '' } },
  );
  let log = '';
  await new Promise<void>((resolve) => {
    child.all?.on('data', (d: Buffer) => {
      log += d.toString();
      if (/rootfs: generating initramfs/.test(log)) resolve();
    });
    void child.then(() => resolve());
  });
  assert.match(log, /rootfs: generating initramfs/, `the build did not get that far:\n${log.slice(-3000)}`);
  child.kill('SIGINT');
  const r = await child;
  assert.is(r.exitCode, 130, String(r.all).slice(-2000));
  const access = readFileSync(path.join(DIR, 'squid/access.log'), 'utf8');
  assert.match(
    access,
    /GET http:\/\/deb\.debian\.org\/debian\/pool\/main\/.*\.deb/,
    'no .deb download went through the proxy',
  );
  assert.match(
    access,
    /linux-image-[^ ]*amd64[^ ]*\.deb/,
    'the kernel package did not come through the proxy',
  );
  // credentials: not on the terminal, not in the build log
  assert.not.ok(String(r.all).includes(SECRET), 'secret printed');
  const logs = readdirSync(path.join(CACHE, 'logs')).map((f) =>
    readFileSync(path.join(CACHE, 'logs', f), 'utf8'),
  );
  assert.ok(logs.length > 0);
  for (const l of logs) assert.not.ok(l.includes(SECRET), 'secret in the build log');
  // nothing half-built is left: no rootfs entry, no work folder, no mounts
  assert.equal(readdirSync(path.join(CACHE, 'rootfs')), [], 'a partial rootfs was left in the cache');
  assert.equal(readdirSync(path.join(CACHE, 'work')), [], 'work folder left');
  assert.equal(readdirSync(OUT), [], 'output written');
  assertCleanHost(assert, 'after SIGINT in the rootfs stage', CACHE);
});

test('a proxy given to the build is not baked into the image, nor into the manifest', async () => {
  // the images of the minimal tests were built with a proxy in the environment of this run?
  // build again from the shared cache with --proxy and inspect the result
  const r = await cli([
    'build',
    '--profile',
    'minimal',
    '--distro',
    DISTRO,
    '--format',
    'iso',
    '--output',
    OUT,
    '--proxy',
    `http://ibn:${SECRET}@127.0.0.1:${PORT}`,
  ]);
  assert.is(r.exitCode, 0, r.all.slice(-3000));
  assert.not.ok(r.all.includes(SECRET), 'secret printed');
  assert.not.ok(
    readFileSync(path.join(OUT, 'minimal.manifest.json'), 'utf8').includes(SECRET),
    'secret in the manifest',
  );
  // unpack every live layer of the ISO and search it all
  const live = path.join(DIR, 'live');
  await execa('xorriso', [
    '-osirrox',
    'on',
    '-indev',
    path.join(OUT, 'minimal.iso'),
    '-extract',
    '/live',
    live,
  ]);
  for (const sq of readdirSync(live).filter((f) => f.endsWith('.squashfs'))) {
    const tree = path.join(DIR, `tree-${sq}`);
    await execa('unsquashfs', ['-no-progress', '-d', tree, path.join(live, sq)]);
    const hits = await execa('grep', ['-rIl', '-e', SECRET, '-e', `127.0.0.1:${PORT}`, tree], {
      reject: false,
    });
    assert.is(hits.stdout.trim(), '', `proxy settings baked into the image (${sq})`);
    rmSync(tree, { recursive: true, force: true });
  }
});

test.run();
