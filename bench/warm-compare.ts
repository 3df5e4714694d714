/**
 * npm run bench:warm -- [--before <commit>] [--runs N] [--reuse]: the warm rebuild of two versions of
 * ib-native side by side (a script, not a test). Issue 11 asks that the host-safety work not slow a
 * warm rebuild measurably; this measures exactly that.
 *
 * Each version (`--before`, default 7a52622, main just before the host-safety merge; and this
 * checkout) gets its own stage cache, seeded with the same downloaded packages, and builds `minimal`
 * on debian-bookworm once cold (ISO + QCOW2). Then, alternating the versions so that both see the
 * same host load, each rebuilds after a config-only change (one sysctl value) the ISO and the QCOW2,
 * `--runs` times (default 3). Prints the median and the spread of each, and writes
 * bench/warm-compare.json. Needs root; each build is the version's own CLI.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { median } from './common.ts';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ROOT = process.env.IB_NATIVE_BENCH_DIR ?? '/var/tmp/ib-native-bench-warm';
const PACKAGES = process.env.IB_NATIVE_BENCH_PACKAGES ?? '/var/cache/ib-native-test/packages';

const args = yargs(hideBin(process.argv))
  .option('before', { type: 'string', default: '7a52622', describe: 'the commit to compare with' })
  .option('runs', { type: 'number', default: 3, describe: 'warm rebuilds of each format per version' })
  .option('reuse', {
    type: 'boolean',
    default: false,
    describe: "keep the versions' stage caches of an earlier run (their first build is then warm too)",
  })
  .strict()
  .parseSync();

interface Side {
  name: 'before' | 'after';
  repo: string;
  cache: string;
}

function checkout(commit: string): string {
  const dir = path.join(ROOT, `src-${commit}`);
  if (!existsSync(dir)) {
    execFileSync('git', ['-C', REPO, 'worktree', 'prune']);
    execFileSync('git', ['-C', REPO, 'worktree', 'add', '--detach', dir, commit], { stdio: 'inherit' });
    symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  }
  return dir;
}

/** Seconds one build of `profile` took with a version's own CLI. */
function build(side: Side, profile: string, formats: string, out: string): number {
  const t0 = Date.now();
  execFileSync(
    process.execPath,
    [
      path.join(side.repo, 'bin/ib-native.mjs'),
      '--cache-dir',
      side.cache,
      'build',
      '--profile',
      profile,
      '--distro',
      'debian-bookworm',
      '--format',
      formats,
      '--output',
      out,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return (Date.now() - t0) / 1000;
}

/** A profile that differs from minimal in one sysctl value: a config-only change. */
function changedProfile(dir: string, n: number): string {
  const file = path.join(dir, `warm-${n}.yaml`);
  writeFileSync(file, `name: warm\nextends: minimal\nsysctl:\n  vm.swappiness: ${n}\n`);
  return file;
}

mkdirSync(ROOT, { recursive: true });
// caches and outputs of an earlier run (never through a mount: --one-file-system)
for (const d of args.reuse
  ? ['out-before', 'out-after']
  : ['cache-before', 'cache-after', 'out-before', 'out-after'])
  execFileSync('rm', ['-rf', '--one-file-system', '--', path.join(ROOT, d)]);
const sides: Side[] = [
  { name: 'before', repo: checkout(args.before), cache: path.join(ROOT, 'cache-before') },
  { name: 'after', repo: REPO, cache: path.join(ROOT, 'cache-after') },
];
for (const s of sides) {
  mkdirSync(s.cache, { recursive: true });
  if (existsSync(PACKAGES) && !existsSync(path.join(s.cache, 'packages')))
    cpSync(PACKAGES, path.join(s.cache, 'packages'), { recursive: true });
  process.stderr.write(`${s.name}: cold build of minimal (ISO + QCOW2)\n`);
  const secs = build(s, 'minimal', 'iso,qcow2', path.join(ROOT, `out-${s.name}`));
  process.stderr.write(`  ${secs.toFixed(1)} s\n`);
}
const times: Record<string, number[]> = {};
const load: number[] = [];
let n = 1;
for (let run = 0; run < args.runs; run++)
  for (const format of ['iso', 'qcow2'])
    for (const s of run % 2 ? [...sides].reverse() : sides) {
      load.push(loadavg()[0]!);
      const secs = build(s, changedProfile(ROOT, n++), format, path.join(ROOT, `out-${s.name}`));
      const key = `${s.name} ${format}`;
      times[key] = [...(times[key] ?? []), secs];
      process.stderr.write(`  ${s.name} warm ${format}: ${secs.toFixed(1)} s\n`);
    }

const rows = Object.entries(times).map(([k, xs]) => ({
  run: k,
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
}));
const result = {
  date: new Date().toISOString(),
  before: args.before,
  after: execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']).toString().trim(),
  loadAverage: { min: Math.min(...load), max: Math.max(...load) },
  rows,
};
writeFileSync(path.join(REPO, 'bench/warm-compare.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write('| version | warm rebuild | median s | min s | max s |\n|---|---|---|---|---|\n');
for (const r of rows) {
  const [v, f] = r.run.split(' ');
  process.stdout.write(
    `| ${v === 'before' ? args.before : result.after} | ${f} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} | ${r.max.toFixed(1)} |\n`,
  );
}
process.stdout.write(
  `load average during the warm runs: ${result.loadAverage.min.toFixed(1)}–${result.loadAverage.max.toFixed(1)}\n`,
);
