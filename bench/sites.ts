/**
 * `npm run bench:sites` (root): what one more site costs with `build --site`. Builds `minimal`
 * (debian-bookworm, ISO only) once to warm its rootfs and base squashfs, then with 1, 3 and 10
 * site folders, timing each whole build (wall, as time(1) would) and reading each site's xorriso
 * time from the build log. Prints a table and writes bench/sites.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { machine, startBench } from './common.ts';

const ROOT = process.env.IB_NATIVE_BENCH_DIR ?? '/var/tmp/ib-native-bench-sites';
const CACHE = process.env.IB_NATIVE_BENCH_CACHE ?? path.join(ROOT, 'cache');
const BIN = path.join(import.meta.dirname, '..', 'bin', 'ib-native.mjs');
const COUNTS = [1, 3, 10];

async function build(out: string, sites: string[]): Promise<number> {
  const t0 = Date.now();
  const args = [
    '--cache-dir',
    CACHE,
    'build',
    '-p',
    'minimal',
    '--distro',
    'debian-bookworm',
    '--format',
    'iso',
  ];
  await execa(process.execPath, [BIN, ...args, '--output', out, ...sites.flatMap((s) => ['--site', s])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return (Date.now() - t0) / 1000;
}

/** Seconds of each xorriso run in a build log (the runner logs `-> 0 in Ns` after each command). */
function xorrisoSeconds(log: string): number[] {
  const lines = log.split('\n');
  const out: number[] = [];
  lines.forEach((l, i) => {
    if (!/ DEBUG \$ xorriso -as mkisofs /.test(l)) return;
    const done = lines.slice(i + 1).find((x) => / DEBUG {3}-> \d+ in [\d.]+s$/.test(x));
    const s = done && /in ([\d.]+)s$/.exec(done)?.[1];
    if (s) out.push(Number(s));
  });
  return out;
}

async function main(): Promise<number> {
  const stop = await startBench('bench:sites', ROOT);
  if (stop !== undefined) return stop;
  const sites = Array.from({ length: Math.max(...COUNTS) }, (_, i) => {
    const dir = path.join(ROOT, 'sites', `site${String(i + 1).padStart(2, '0')}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'user_data'), `#cloud-config\nhostname: site${i + 1}\n`);
    return dir;
  });
  process.stderr.write('warming the cache (rootfs, base squashfs)\n');
  const warm = await build(path.join(ROOT, 'warm'), []);
  const rows: {
    sites: number;
    wallSeconds: number;
    xorrisoSeconds: number[];
    perExtraSite?: number;
    firstSiteSeconds: number;
  }[] = [];
  for (const n of COUNTS) {
    const out = path.join(ROOT, `out-${n}`);
    const wall = await build(out, sites.slice(0, n));
    const xorriso = xorrisoSeconds(readFileSync(path.join(out, 'minimal.build.log'), 'utf8'));
    const first = wall - xorriso.slice(1).reduce((a, b) => a + b, 0);
    rows.push({
      sites: n,
      wallSeconds: wall,
      xorrisoSeconds: xorriso,
      perExtraSite: n > 1 ? (wall - rows[0]!.wallSeconds) / (n - 1) : undefined,
      firstSiteSeconds: first,
    });
  }
  const lines = [
    '| sites | build wall (s) | xorriso runs (s, each) | added per site after the first (s) |',
    '|---|---|---|---|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.sites} | ${r.wallSeconds.toFixed(1)} | ${r.xorrisoSeconds.map((x) => x.toFixed(1)).join(' ')} | ${r.perExtraSite?.toFixed(2) ?? '–'} |`,
    );
  process.stdout.write(`warm build without sites: ${warm.toFixed(1)} s\n${lines.join('\n')}\n`);
  writeFileSync(
    path.join(import.meta.dirname, 'sites.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), warmSeconds: warm, rows }, null, 2)}\n`,
  );
  return 0;
}

process.exitCode = await main();
