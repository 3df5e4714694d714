/**
 * Issue 5, flaky mirrors: fault-injecting HTTP servers on 127.0.0.1 (errors, truncated files,
 * stalls). The build retries each mirror with backoff, falls back to the next, and finally
 * fails with one error naming every URL and what happened — leaving outputs and host clean.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, cli, DISTRO, ownScratch, snapshot } from '../helpers/host.ts';

const DIR = ownScratch('mirror-faults');
const OUT = path.join(DIR, 'out');
type Fault = 'error' | 'truncate' | 'stall';
const servers: Server[] = [];
const hits: Record<Fault, number> = { error: 0, truncate: 0, stall: 0 };

function faultyMirror(fault: Fault): Promise<string> {
  const server = createServer((req, res) => {
    hits[fault]++;
    if (fault === 'error') {
      res.writeHead(503).end('injected failure\n');
    } else if (fault === 'truncate') {
      // promise a Release file of 100 kB, send 10 bytes, hang up
      res.writeHead(200, { 'content-length': '100000' });
      res.write('Origin: De');
      res.destroy();
    } else {
      void req; // stall: accept, never answer
    }
  });
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`),
    ),
  );
}

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'minimal.iso'), 'previous good image\n');
});

test.after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

test('every mirror failing (HTTP errors, truncated files, a stall) gives one clear error and a clean host', async () => {
  const [err, trunc, stall] = [
    await faultyMirror('error'),
    await faultyMirror('truncate'),
    await faultyMirror('stall'),
  ];
  const before = snapshot(OUT);
  const r = await cli(
    [
      'build',
      '--profile',
      'minimal',
      '--distro',
      DISTRO,
      '--format',
      'iso',
      '--output',
      OUT,
      '--no-cache',
      '--mirror',
      err,
      '--mirror-fallback',
      trunc,
      '--mirror-fallback',
      stall,
    ],
    { env: { IB_NATIVE_STALL_SECONDS: '6', IB_NATIVE_RETRY_PAUSE_MS: '200' }, timeoutMs: 10 * 60 * 1000 },
  );
  assert.is(r.exitCode, 2, r.all.slice(-3000));
  assert.match(r.stderr, /could not bootstrap debian-bookworm from any mirror/);
  for (const url of [err, trunc, stall]) {
    for (const n of [1, 2, 3])
      assert.ok(
        r.stderr.includes(`${url} attempt ${n}:`),
        `attempt ${n} on ${url} not reported:\n${r.stderr}`,
      );
  }
  assert.match(
    r.stderr,
    /watchdog after 6 s without progress/,
    'the stalled mirror was not cut off by the watchdog',
  );
  assert.match(r.stderr, /hint: /);
  // retried: every server saw every attempt
  assert.ok(hits.error >= 3 && hits.truncate >= 3 && hits.stall >= 3, JSON.stringify(hits));
  assert.equal(snapshot(OUT), before, 'output folder changed');
  assertCleanHost(assert, 'after mirror failures');
});

test.run();
