/**
 * Test runner: runs every uvu test file in its own process (unit files two at a time,
 * integration files one after another, in name order, since they share the build cache),
 * adds up uvu's counts and ends with the line `N passed, N failed, N skipped`.
 *
 *   node --import tsx test/run.ts [unit|integration] [filter]
 *   node --import tsx test/run.ts distros [jammy,noble,...]   (the release matrix; never by default)
 *   node --import tsx test/run.ts distros <file>              (one file of test/distros, e.g. formats)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/doctor.ts';
import { filesystemOf } from '../src/space.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const KINDS = ['unit', 'integration', 'distros'];
// the release matrix takes hours: only when asked for by name
const which =
  process.argv[2] && KINDS.includes(process.argv[2]) ? [process.argv[2]] : ['unit', 'integration'];
const arg = process.argv.find((a, i) => i >= 2 && !KINDS.includes(a));
// for distros the argument names a file of test/distros, or else releases (then only the release
// matrix runs: test/distros/releases.test.ts reads them)
const distroFiles = which[0] === 'distros' ? readdirSync(path.join(here, 'distros')) : [];
const namesFile = arg !== undefined && distroFiles.some((n) => n.startsWith(`${arg}.`));
const filter = which[0] === 'distros' ? (namesFile ? `/${arg}.` : arg ? '/releases.' : undefined) : arg;
if (which[0] === 'distros' && arg && !namesFile) process.env.IB_NATIVE_DISTROS = arg;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir).sort()) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (n.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

// integration files fill the test cache and scratch folders: each result line says how much the
// two hold (du) and what is left on their filesystems
const SPACE_DIRS = [
  process.env.IB_NATIVE_TEST_CACHE ?? '/var/cache/ib-native-test',
  process.env.IB_NATIVE_TEST_SCRATCH ?? '/var/tmp/ib-native-test',
];

function freeSpace(): string {
  // one figure per filesystem (the engine's own probe: the folder or its nearest existing parent)
  const free = new Map<string, string>();
  for (const d of SPACE_DIRS) {
    const fs = filesystemOf(d);
    if (fs && !free.has(fs.id)) free.set(fs.id, `${formatBytes(fs.freeBytes)} free in ${d}`);
  }
  const held = SPACE_DIRS.filter((d) => existsSync(d)).map((d) => {
    const r = spawnSync('du', ['-sx', '--block-size=1', d], { encoding: 'utf8' });
    return Number(r.stdout.split('\t')[0]) || 0;
  });
  return `cache+scratch ${formatBytes(held.reduce((a, b) => a + b, 0))}, ${[...free.values()].join(', ')}`;
}

function runFile(file: string): Promise<Counts & { file: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // the bin runs the sources under test, never a compiled dist/ (test 90-pack unsets it)
      env: { ...process.env, FORCE_COLOR: '0', IB_NATIVE_FROM_SOURCE: '1' },
    });
    let out = '';
    const rel = path.relative(path.dirname(here), file);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (process.env.TEST_VERBOSE) process.stdout.write(d);
      // a skipped release says why on its own line: shown whatever the verbosity
      for (const line of d.toString().split('\n'))
        if (line.startsWith('SKIPPED ')) process.stdout.write(`${line}\n`);
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
      if (process.env.TEST_VERBOSE) process.stderr.write(d);
    });
    child.on('close', (code) => {
      const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(out)?.[1] ?? Number.NaN);
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped') || 0;
      let counts: Counts;
      if (Number.isNaN(total) || Number.isNaN(passed)) counts = { passed: 0, failed: 1, skipped: 0 };
      // uvu's Total leaves skipped tests out: every test it ran and did not pass failed
      else counts = { passed, failed: total - passed, skipped };
      if (code !== 0 && counts.failed === 0) counts.failed = 1;
      const seconds = (Date.now() - t0) / 1000;
      const mark = counts.failed ? 'FAIL' : 'ok  ';
      const space = rel.startsWith('test/unit/') ? '' : `; ${freeSpace()}`;
      process.stdout.write(
        `${mark} ${rel}  (${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${seconds.toFixed(1)}s${space})\n`,
      );
      if (counts.failed && !process.env.TEST_VERBOSE)
        process.stdout.write(
          `${out
            .split('\n')
            .map((l) => `     | ${l}`)
            .join('\n')}\n`,
        );
      resolve({ ...counts, file: rel, seconds });
    });
  });
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

const totals: Counts = { passed: 0, failed: 0, skipped: 0 };
for (const kind of which) {
  const list = files(path.join(here, kind)).filter((f) => !filter || f.includes(filter));
  if (!list.length) continue;
  process.stdout.write(
    `\n# ${kind} tests (${list.length} files)${kind === 'unit' ? '' : `; ${freeSpace()}`}\n`,
  );
  const results = await pool(list, kind === 'unit' ? 2 : 1, runFile);
  for (const r of results) {
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
  }
}
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed ? 1 : 0);
