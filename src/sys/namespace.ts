import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { PROXY_ENV } from '../proxy.ts';

/**
 * ib-native runs its root work inside a private mount namespace: every mount it makes is
 * invisible to the host and disappears with the namespace, so nothing can outlive a build,
 * even on SIGKILL. The CLI re-executes itself under `unshare` once; `--kill-child` makes the
 * inner process get SIGTERM (and clean up loop devices) if the outer one is killed.
 */
export const NS_ENV = 'IB_NATIVE_IN_NAMESPACE';

/**
 * Whether this process is the re-executed build inside its own mount namespace. The environment
 * variable alone is not trusted (anyone can set it): it must name our grandparent, whose mount
 * namespace must differ from ours. Otherwise the build re-executes itself.
 */
export function insideNamespace(): boolean {
  return namespaceClaimHolds(process.env[NS_ENV], { ppid: parentPid, ns: mountNamespace });
}

/**
 * setpriv: if this outer process dies (even by SIGKILL), unshare is killed; unshare's
 * --kill-child then sends SIGTERM to the inner build, which cleans up. (unshare itself ignores
 * SIGINT/SIGTERM while it waits, so signals are forwarded straight to the inner process.)
 */
export function namespaceArgv(nodeArgv: readonly string[]): string[] {
  return [
    'setpriv',
    '--pdeathsig',
    'KILL',
    '--',
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--kill-child=SIGTERM',
    '--',
    ...nodeArgv,
  ];
}

/** Children of a process, from /proc (empty when unknown). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * The command line without `--proxy URL` / `--proxy=URL` (pure): a proxy URL may carry
 * credentials, and an argv is readable by every user in /proc/<pid>/cmdline for the whole build.
 * The value travels in the environment instead (`/proc/<pid>/environ` is readable by root only).
 */
export function withoutProxyArgs(args: readonly string[]): { args: string[]; proxy?: string } {
  const out: string[] = [];
  let proxy: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a === '--proxy' && i + 1 < args.length) proxy = args[++i];
    else if (a.startsWith('--proxy=')) proxy = a.slice('--proxy='.length);
    else out.push(a);
  }
  return proxy === undefined ? { args: out } : { args: out, proxy };
}

/** The mount namespace of a process (`mnt:[4026531841]`), undefined when it cannot be read. */
export function mountNamespace(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** The parent pid of a process, from /proc/<pid>/stat (undefined when gone). */
function parentPid(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: fields after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the environment's claim to run inside the build's own namespace holds (pure but for
 * the reads it is given): the variable names the outer process, which must be this process's
 * grandparent (outer -> unshare -> us), and our mount namespace must differ from its.
 */
export function namespaceClaimHolds(
  claim: string | undefined,
  read: { ppid: (p: number | 'self') => number | undefined; ns: (p: number | 'self') => string | undefined },
): boolean {
  const outer = Number(claim);
  if (!claim || !Number.isInteger(outer) || outer <= 0) return false;
  const parent = read.ppid('self');
  if (parent === undefined || read.ppid(parent) !== outer) return false;
  const mine = read.ns('self');
  const theirs = read.ns(outer);
  return mine !== undefined && theirs !== undefined && mine !== theirs;
}

/** Re-run this very command inside a new private mount namespace; resolves with its exit code. */
export function reexecInNamespace(): Promise<number> {
  const { args, proxy } = withoutProxyArgs(process.argv.slice(1));
  const argv = namespaceArgv([process.execPath, ...process.execArgv, ...args]);
  const env: NodeJS.ProcessEnv = { ...process.env, [NS_ENV]: String(process.pid) };
  if (proxy !== undefined) env[PROXY_ENV] = proxy;
  else delete env[PROXY_ENV];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => () => {
    // the inner build handles signals (cleanup, then exit 130); a second SIGINT from the
    // terminal's process group is harmless
    const inner = child.pid ? childPids(child.pid) : [];
    if (inner.length) for (const pid of inner) safeKill(pid, sig);
    else child.kill('SIGKILL'); // not started yet: kill-child will stop the inner process
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}

function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}
