import { spawn } from 'node:child_process';

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
 * setpriv: if this outer process dies (even SIGKILL), unshare gets SIGTERM; unshare's
 * --kill-child then passes SIGTERM to the inner build, which cleans up.
 */
export function namespaceArgv(nodeArgv: readonly string[]): string[] {
  return [
    'setpriv',
    '--pdeathsig',
    'TERM',
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

/** Re-run this very command inside a new private mount namespace; resolves with its exit code. */
export function reexecInNamespace(): Promise<number> {
  const argv = namespaceArgv([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, [NS_ENV]: '1' } });
  const forward = (sig: NodeJS.Signals) => () => {
    // Ctrl-C reaches the whole foreground group already; forward only what was sent to us alone.
    if (sig !== 'SIGINT') child.kill(sig);
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
