/**
 * Helpers for integration tests: run the real CLI, and snapshot host state (mounts, loop
 * devices, stray processes, folder listings) to prove that nothing is left behind.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin/ib-native.mjs');
/** One cache shared by every integration test, so the base rootfs is built once. */
export const CACHE = process.env.IB_NATIVE_TEST_CACHE ?? '/var/cache/ib-native-test';
export const SCRATCH = process.env.IB_NATIVE_TEST_SCRATCH ?? '/var/tmp/ib-native-test';
export const DISTRO = 'debian-bookworm';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  all: string;
}

export async function cli(
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, '--cache-dir', CACHE, ...args], {
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

export function cliProcess(args: string[], env?: Record<string, string>): ResultPromise {
  return execa(process.execPath, [BIN, '--cache-dir', CACHE, ...args], {
    reject: false,
    all: true,
    env,
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

function alive(pid: number): boolean {
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

/** Names, sizes and mtimes of a folder's files: equal snapshots mean nothing changed. */
export function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((n) => {
      const s = statSync(path.join(dir, n));
      return `${n} ${s.size} ${s.mtimeMs}`;
    });
}

export function assertCleanHost(
  assert: { equal: (a: unknown, b: unknown, m?: string) => void },
  label: string,
  cache = CACHE,
): void {
  assert.equal(hostMountsUnder(cache).join('\n'), '', `${label}: mounts left under ${cache}`);
  assert.equal(loopsUnder(cache).join('\n'), '', `${label}: loop devices left`);
  assert.equal(strayProcesses(cache).join('\n'), '', `${label}: build processes left`);
}
