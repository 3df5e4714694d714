/**
 * Helpers for integration tests: run the real CLI, and snapshot host state (mounts, loop
 * devices, stray processes, folder listings) to prove that nothing is left behind.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { DISTROS, type DistroName } from '../../src/profile/schema.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin/ib-native.mjs');
/** One cache shared by every integration test, so the base rootfs is built once. */
export const CACHE = process.env.IB_NATIVE_TEST_CACHE ?? '/var/cache/ib-native-test';
export const SCRATCH = process.env.IB_NATIVE_TEST_SCRATCH ?? '/var/tmp/ib-native-test';
/**
 * A test file's own folder under SCRATCH, removed when the file's process exits (its images are
 * read by no other file), so that the suite's outputs do not pile up on a small disk.
 * IB_NATIVE_TEST_KEEP=1 keeps them for a look afterwards.
 */
export function ownScratch(name: string): string {
  const dir = path.join(SCRATCH, name);
  if (!process.env.IB_NATIVE_TEST_KEEP)
    process.once('exit', () => {
      try {
        // never into a mount a failed test may have left (the host checks report those)
        execFileSync('rm', ['-rf', '--one-file-system', dir], { stdio: 'ignore' });
      } catch {
        // what could not be removed stays; the next run of the file empties it first
      }
    });
  return dir;
}

/** The distro integration tests build (IB_NATIVE_TEST_DISTRO, e.g. ubuntu-focal; default debian-bookworm). */
export const DISTRO: DistroName = testDistro(process.env.IB_NATIVE_TEST_DISTRO);

function testDistro(name = 'debian-bookworm'): DistroName {
  if (!(DISTROS as readonly string[]).includes(name))
    throw new Error(`IB_NATIVE_TEST_DISTRO=${name}: not one of ${DISTROS.join(', ')}`);
  return name as DistroName;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  all: string;
}

/** The CLI, to completion; `cache` replaces the shared test cache. */
export async function cli(
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string>; cache?: string } = {},
): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, '--cache-dir', opts.cache ?? CACHE, ...args], {
    reject: false,
    all: true,
    timeout: opts.timeoutMs ?? 40 * 60 * 1000,
    env: opts.env,
    stdin: 'ignore',
  });
  const out = {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    all: String(r.all),
  };
  if (process.env.TEST_VERBOSE) process.stderr.write(out.all);
  return out;
}

/** `build` of a profile on the tests' distro into `output`, as the CLI is called: the common argv of build tests. */
export function buildArgs(profile: string, format: string, output: string, ...extra: string[]): string[] {
  return [
    'build',
    '--profile',
    profile,
    '--distro',
    DISTRO,
    '--format',
    format,
    '--output',
    output,
    ...extra,
  ];
}

/** The CLI started in the background (to interrupt it); `cache` replaces the shared test cache. */
export function cliProcess(
  args: string[],
  opts: { env?: Record<string, string>; cache?: string } = {},
): ResultPromise {
  return execa(process.execPath, [BIN, '--cache-dir', opts.cache ?? CACHE, ...args], {
    reject: false,
    all: true,
    env: opts.env,
    stdin: 'ignore',
    buffer: true,
  });
}

/** Host mount points at or under a folder (host namespace: what a user would see). */
export function hostMountsUnder(dir: string): string[] {
  const d = path.resolve(dir);
  return readFileSync('/proc/1/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!)
    .filter((m) => m === d || m.startsWith(`${d}/`));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a path or command line belongs to a build that is still running: ib-native names its
 * scratch paths after the building process (build-PID-, nocache-PID-, .building-PID, .partial-PID),
 * so leftovers of dead builds can be told from the work of concurrent ones.
 */
export function ownedByLiveBuild(text: string): boolean {
  const pids = [...text.matchAll(/(?:build|nocache)-(\d+)-|(?:building|partial)-(\d+)/g)].map((m) =>
    Number(m[1] ?? m[2]),
  );
  return pids.some(alive);
}

/** Loop devices backed by a file under a folder (of builds no longer running). */
export function loopsUnder(dir: string): string[] {
  const d = path.resolve(dir);
  return readdirSync('/sys/block')
    .filter((n) => n.startsWith('loop'))
    .filter((n) => {
      const f = `/sys/block/${n}/loop/backing_file`;
      if (!existsSync(f)) return false;
      const back = readFileSync(f, 'utf8').trim();
      return back.startsWith(`${d}/`) && !ownedByLiveBuild(back);
    });
}

const BUILD_TOOLS = [
  'debootstrap',
  'mmdebstrap',
  'apt-get',
  'dpkg',
  'mksquashfs',
  'qemu-img',
  'qemu-system-x86',
  'xorriso',
  'rsync',
  'mkfs.ext4',
  'update-initramfs',
  'mkinitramfs',
];

/** nbd devices served by a qemu-nbd whose command line mentions a folder. */
export function nbdsUnder(dir: string): string[] {
  if (!existsSync('/sys/block')) return [];
  return readdirSync('/sys/block')
    .filter((n) => n.startsWith('nbd') && existsSync(`/sys/block/${n}/pid`))
    .filter((n) => {
      try {
        const pid = readFileSync(`/sys/block/${n}/pid`, 'utf8').trim();
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes(path.resolve(dir)) && !ownedByLiveBuild(cmd);
      } catch {
        return false;
      }
    });
}

/** Build tools still running whose command line mentions a folder. */
export function strayProcesses(dir: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(dir) && BUILD_TOOLS.some((t) => cmd.includes(t)) && !ownedByLiveBuild(cmd))
        out.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return out;
}

/** Writes `<dir>/<name>.ts`: a profile extending minimal with `extra` (TypeScript object members). */
export function writeProfile(dir: string, name: string, extra: string): string {
  const file = path.join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: '${name}', extends: '${path.join(REPO, 'profiles/minimal.ts')}', ${extra} });\n`,
  );
  return file;
}

/** Processes (other than this one) whose command line contains `text`. */
export function processesMentioning(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(text) && Number(pid) !== process.pid) out.push(`${pid} ${cmd.split('\0').join(' ')}`);
    } catch {
      // gone
    }
  }
  return out;
}

/** Work folders (`<cache>/work/<what>-PID-...`) of builds and shells that are no longer running. */
export function workLeft(cache = CACHE): string[] {
  try {
    return readdirSync(path.join(cache, 'work')).filter((n) => !alive(Number(/-(\d+)-/.exec(n)?.[1] ?? 0)));
  } catch {
    return [];
  }
}

function sha256Of(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Names (hidden ones too), sizes, mtimes and sha256 of a folder's files: equal snapshots mean
 * the folder holds byte for byte what it held, and nothing was added (no partial file either).
 */
export function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((n) => {
      const s = statSync(path.join(dir, n));
      return `${n} ${s.size} ${s.mtimeMs} ${s.isFile() ? sha256Of(path.join(dir, n)) : 'dir'}`;
    });
}

/**
 * What of a stage cache is not a complete entry: an entry folder without its entry.json, and
 * scratch left by builds that are no longer running (.KEY.building-PID, .KEY.old-PID, work/,
 * locks, attachment records). Empty when the next build can only reuse complete entries.
 */
export function cacheLeftovers(cache = CACHE): string[] {
  const out: string[] = [];
  const list = (d: string) => (existsSync(path.join(cache, d)) ? readdirSync(path.join(cache, d)) : []);
  for (const kind of ['rootfs', 'squashfs', 'disk', 'qcow2'])
    for (const n of list(kind)) {
      const p = path.join(kind, n);
      if (n.startsWith('.')) {
        if (!ownedByLiveBuild(n)) out.push(`${p}: scratch of a build that is gone`);
      } else if (!existsSync(path.join(cache, p, 'entry.json'))) out.push(`${p}: no entry.json`);
    }
  for (const n of list('work'))
    if (!ownedByLiveBuild(`${n}-`)) out.push(`work/${n}: left by a build that is gone`);
  for (const d of ['locks', 'attachments'])
    for (const n of list(d)) {
      const pid = Number(
        /^(\d+)-/.exec(n)?.[1] ?? readFileSync(path.join(cache, d, n), 'utf8').match(/\d+/)?.[0],
      );
      if (!alive(pid)) out.push(`${d}/${n}: held by pid ${pid}, which is gone`);
    }
  return out;
}

/** A process seen in /proc: its pid, argv, start time (to tell a reused pid) and mount namespace. */
export interface Proc {
  pid: number;
  argv: string[];
  start: string;
  mntNs: string;
}

function proc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return {
      pid,
      argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
      // field 22, counted after the parenthesised command name (which may hold spaces)
      start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '',
      mntNs: readlinkSync(`/proc/${pid}/ns/mnt`),
    };
  } catch {
    return undefined; // gone
  }
}

/** A process and all its descendants, from /proc/PID/task/TID/children. */
export function processTree(pid: number): Proc[] {
  const out: Proc[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    const info = proc(p);
    if (!info) continue;
    out.push(info);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        todo.push(
          ...readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
        );
      } catch {
        // gone
      }
    }
  }
  return out;
}

/** Those of the given processes that still run (same pid and start time). */
export function stillRunning(procs: readonly Proc[]): Proc[] {
  return procs.filter((p) => proc(p.pid)?.start === p.start);
}

/**
 * Processes in any of these mount namespaces (a build's private namespace lives as long as one
 * process is in it: none left means no mount of it is left either).
 */
export function processesInNamespaces(namespaces: readonly string[]): Proc[] {
  if (!namespaces.length) return [];
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map((n) => proc(Number(n)))
    .filter((p): p is Proc => p !== undefined && namespaces.includes(p.mntNs));
}

/** Mount namespaces of a process tree other than ours: those the build made for itself. */
export function buildNamespaces(tree: readonly Proc[]): string[] {
  const own = readlinkSync('/proc/self/ns/mnt');
  return [...new Set(tree.map((p) => p.mntNs).filter((n) => n !== own))];
}

export function assertCleanHost(
  assert: { equal: (a: unknown, b: unknown, m?: string) => void },
  label: string,
  cache = CACHE,
): void {
  assert.equal(hostMountsUnder(cache).join('\n'), '', `${label}: mounts left under ${cache}`);
  assert.equal(loopsUnder(cache).join('\n'), '', `${label}: loop devices left`);
  assert.equal(nbdsUnder(cache).join('\n'), '', `${label}: nbd devices left`);
  assert.equal(strayProcesses(cache).join('\n'), '', `${label}: build processes left`);
}
