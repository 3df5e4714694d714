/**
 * Helpers for integration tests: run the real CLI, and snapshot host state (mounts, loop
 * devices, stray processes, folder listings) to prove that nothing is left behind.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

/** Loop devices backed by a file under a folder. */
export function loopsUnder(dir: string): string[] {
  const d = path.resolve(dir);
  return readdirSync('/sys/block')
    .filter((n) => n.startsWith('loop'))
    .filter((n) => {
      const f = `/sys/block/${n}/loop/backing_file`;
      return existsSync(f) && readFileSync(f, 'utf8').trim().startsWith(`${d}/`);
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
      if (cmd.includes(dir) && BUILD_TOOLS.some((t) => cmd.includes(t))) out.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return out;
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
): void {
  assert.equal(hostMountsUnder(CACHE).join('\n'), '', `${label}: mounts left under ${CACHE}`);
  assert.equal(loopsUnder(CACHE).join('\n'), '', `${label}: loop devices left`);
  assert.equal(strayProcesses(CACHE).join('\n'), '', `${label}: build processes left`);
}
