/**
 * npm run bench:startup — how long the CLI takes to start (a script, not a test: figures vary with load).
 *
 * Runs `bin/ib-native.mjs` with `--help`, the completion of a profile name and of a command (what a
 * TAB runs), and `plan --profile minimal`, each N times (default 7; `-n N`), and prints the median
 * and the minimum wall time of each (and of `node -e 0`, the floor on this host), once for the compiled code (dist/, built first by
 * `npm run build`) and once for the sources through tsx (IB_NATIVE_FROM_SOURCE=1). No root, no
 * network (`plan` of a shipped profile without pinned keys reads nothing remote).
 *   npm run bench:startup -- -n 11
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO, 'bin/ib-native.mjs');
const at = process.argv.indexOf('-n');
const N = at > 0 ? Number(process.argv[at + 1]) : 7;

/** Node.js itself, for scale: what no change to ib-native can take away on this host. */
const NODE_ALONE = ['-e', '0'];

const CASES: [string, string[]][] = [
  ['--help', ['--help']],
  ['completion (command)', ['--get-yargs-completions', 'ib-native', 'pl']],
  ['completion (profile)', ['--get-yargs-completions', 'ib-native', 'build', '-p', 'mi']],
  ['plan --profile minimal', ['plan', '--profile', 'minimal', '--distro', 'debian-bookworm']],
];

/** Median and minimum of N runs, in seconds; a failing run stops the benchmark. */
function measure(args: string[], env: NodeJS.ProcessEnv): { median: number; min: number } {
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    const argv = args === NODE_ALONE ? args : [BIN, ...args];
    const r = spawnSync(process.execPath, argv, { env, encoding: 'utf8', cwd: REPO });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`ib-native ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    times.push(seconds);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]! };
}

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
// nothing from the caller's Node options (a tsx loader would make both modes the same)
const base = { ...process.env, NODE_OPTIONS: '' };
const modes: [string, NodeJS.ProcessEnv][] = [
  ['compiled (dist/)', { ...base, IB_NATIVE_FROM_SOURCE: '' }],
  ['sources (tsx)', { ...base, IB_NATIVE_FROM_SOURCE: '1' }],
];
const rows: Record<string, string | number>[] = [];
process.stdout.write(`| command | mode | median s | min s |\n|---|---|---|---|\n`);
const alone = measure(NODE_ALONE, base);
rows.push({ command: 'node -e 0', mode: 'Node.js alone', ...alone, runs: N });
process.stdout.write(
  `| node -e 0 | Node.js alone | ${alone.median.toFixed(3)} | ${alone.min.toFixed(3)} |\n`,
);
for (const [name, args] of CASES)
  for (const [mode, env] of modes) {
    const { median, min } = measure(args, env);
    rows.push({ command: name, mode, median, min, runs: N });
    process.stdout.write(`| ${name} | ${mode} | ${median.toFixed(3)} | ${min.toFixed(3)} |\n`);
  }
process.stdout.write(`${JSON.stringify(rows)}\n`);
