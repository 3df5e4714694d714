/**
 * `npm run bench:remote` (root): what a registry-shared stage cache saves. Starts Debian's
 * docker-registry on 127.0.0.1, then for `minimal` and the worker (the test suite's worker profile,
 * its Kubernetes packages from the local signed test repo), both on ubuntu-focal, ISO + QCOW2:
 *   cold   an empty cache folder (no packages either): bootstrap, configure, pack;
 *   push   the same cache again with --cache-to (entries found locally, packed and pushed);
 *   pulled another empty cache folder with --cache-from: rootfs, squashfs and disk pulled;
 *   warm   that folder again (everything local).
 * Each wall time is the whole `ib-native build`, as time(1) gives it; the pull and push lines of
 * the build logs are split into the raw tools' own times (skopeo copy, tar) and the rest (digest
 * checks, layouts). Prints a table and writes bench/remote-cache.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { startRegistry } from '../test/helpers/registry.ts';
import { machine, startBench } from './common.ts';

const ROOT = process.env.IB_NATIVE_BENCH_DIR ?? '/var/tmp/ib-native-bench-remote';
const BIN = path.join(import.meta.dirname, '..', 'bin', 'ib-native.mjs');
const DISTRO = 'ubuntu-focal';
process.env.IB_NATIVE_TEST_DISTRO = DISTRO;
process.env.IB_NATIVE_TEST_SCRATCH ??= path.join(ROOT, 'scratch');

/** The seconds of each command of a build log whose argv starts with `prefix` (the runner's `-> 0 in Ns`). */
function commandSeconds(log: string, prefix: RegExp): number {
  const lines = log.split('\n');
  let total = 0;
  lines.forEach((l, i) => {
    if (!prefix.test(l)) return;
    const done = lines.slice(i + 1).find((x) => / DEBUG {3}-> \d+ in [\d.]+s$/.test(x));
    total += Number((done && /in ([\d.]+)s$/.exec(done)?.[1]) ?? 0);
  });
  return total;
}

/** Seconds the build log's `cache-from: pulled` / `cache-to: pushed` lines report, summed. */
function transferSeconds(log: string, verb: 'pulled' | 'pushed'): number {
  return [...log.matchAll(new RegExp(`cache-(?:from|to): ${verb} \\w+ \\w+ .*?in ([\\d.]+) s`, 'g'))].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
}

interface Row {
  profile: string;
  run: 'cold' | 'push' | 'pulled' | 'warm';
  wallSeconds: number;
  transferSeconds?: number;
  skopeoSeconds?: number;
  tarSeconds?: number;
}

async function build(
  profile: string,
  name: string,
  run: Row['run'],
  cache: string,
  extra: string[],
): Promise<Row> {
  const out = path.join(ROOT, `out-${name}-${run}`);
  const t0 = Date.now();
  await execa(
    process.execPath,
    [
      BIN,
      '--cache-dir',
      cache,
      'build',
      '-p',
      profile,
      '--distro',
      DISTRO,
      '--format',
      'iso,qcow2',
      '--output',
      out,
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const wallSeconds = (Date.now() - t0) / 1000;
  const log = readFileSync(path.join(out, `${path.basename(profile, '.ts')}.build.log`), 'utf8');
  const row: Row = { profile: name, run, wallSeconds };
  if (run === 'push' || run === 'pulled') {
    row.transferSeconds = transferSeconds(log, run === 'push' ? 'pushed' : 'pulled');
    row.skopeoSeconds = commandSeconds(log, / DEBUG \$ skopeo copy /);
    row.tarSeconds = commandSeconds(log, / DEBUG \$ tar --(create|extract) /);
  }
  process.stderr.write(`${name} ${run}: ${wallSeconds.toFixed(1)} s\n`);
  return row;
}

async function main(): Promise<number> {
  const stop = await startBench('bench:remote', ROOT);
  if (stop !== undefined) return stop;
  const registry = await startRegistry(path.join(ROOT, 'registry'));
  const { setUpWorkerFixture } = await import('../test/helpers/worker.ts');
  const fixture = await setUpWorkerFixture('bench-remote-worker');
  const rows: Row[] = [];
  try {
    for (const [name, profile] of [
      ['minimal', 'minimal'],
      ['worker', fixture.profile],
    ] as const) {
      const local = path.join(ROOT, `cache-${name}-local`);
      const pulled = path.join(ROOT, `cache-${name}-pulled`);
      mkdirSync(local, { recursive: true });
      mkdirSync(pulled, { recursive: true });
      rows.push(await build(profile, name, 'cold', local, []));
      rows.push(await build(profile, name, 'push', local, ['--cache-to', registry.ref]));
      rows.push(await build(profile, name, 'pulled', pulled, ['--cache-from', registry.ref]));
      rows.push(await build(profile, name, 'warm', pulled, []));
    }
  } finally {
    registry.stop();
    await fixture.close();
  }
  const f = (n: number | undefined) => (n === undefined ? '' : n.toFixed(1));
  const lines = [
    '| profile | build | wall (s) | transfer (s) | of which skopeo copy (s) | tar (s) |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.profile} | ${r.run} | ${f(r.wallSeconds)} | ${f(r.transferSeconds)} | ${f(r.skopeoSeconds)} | ${f(r.tarSeconds)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  writeFileSync(
    path.join(import.meta.dirname, 'remote-cache.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), distro: DISTRO, rows }, null, 2)}\n`,
  );
  return 0;
}

process.exitCode = await main();
