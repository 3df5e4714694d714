import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * ib-native runs its root work inside a private mount namespace: every mount it makes is
 * invisible to the host and disappears with the namespace, so nothing can outlive a build,
 * even on SIGKILL. The CLI re-executes itself under `unshare` once; `--kill-child` makes the
 * inner process get SIGTERM (and clean up loop devices) if the outer one is killed.
 */
export const NS_ENV = 'IB_NATIVE_IN_NAMESPACE';

export function insideNamespace(): boolean {
  return process.env[NS_ENV] === '1';
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

/** Re-run this very command inside a new private mount namespace; resolves with its exit code. */
export function reexecInNamespace(): Promise<number> {
  const argv = namespaceArgv([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, [NS_ENV]: '1' } });
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
