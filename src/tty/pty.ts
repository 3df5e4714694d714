import { UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { relayKeys, terminalSize, type UserTerminal } from './terminal.ts';

/**
 * Interactive commands in a pseudo-terminal (node-pty): the user's terminal is passed through
 * (raw keys, output, size changes) and the command's exit status comes back. Like QEMU (see
 * src/boot/qemu.ts), this is a process the Runner does not start: it belongs to the user's
 * terminal, not to a log.
 */

export interface PtyCommand {
  argv: readonly string[];
  /** The whole environment of the command (nothing is inherited). */
  env: Record<string, string>;
  cwd?: string;
}

type NodePty = typeof import('node-pty');

/** node-pty, loaded on first use so that a broken native build only affects interactive commands. */
export async function loadNodePty(): Promise<NodePty> {
  try {
    return await import('node-pty');
  } catch (e) {
    throw new UserError(
      `node-pty, which runs interactive sessions, cannot be loaded: ${(e as Error).message.split('\n')[0]}`,
      'its native part is compiled by `npm ci`, which needs python3, make and g++ (native-tools/install.sh installs them): then run `npm rebuild node-pty`',
    );
  }
}

/** The exit status a shell would report: the code, or 128 + the signal number. */
export function exitStatus(e: { exitCode: number; signal?: number }): number {
  return e.signal ? 128 + e.signal : e.exitCode;
}

/**
 * Runs `cmd` in a pseudo-terminal attached to the user's terminal until it exits; resolves with its
 * exit status. SIGTERM or SIGHUP to ib-native hang the session up (the command gets SIGHUP).
 */
export async function runInPty(cmd: PtyCommand, term: UserTerminal, logger: Logger): Promise<number> {
  const pty = await loadNodePty();
  const { cols, rows } = terminalSize(term.output);
  const [file, ...args] = cmd.argv;
  logger.debug(`$ ${cmd.argv.join(' ')}   (interactive, in a pseudo-terminal)`);
  const child = pty.spawn(file!, args, {
    name: cmd.env.TERM ?? 'xterm',
    cols,
    rows,
    cwd: cmd.cwd ?? '/',
    env: cmd.env,
  });
  const output = child.onData((d) => term.output.write(d));
  const stop = relayKeys(term, (b) => child.write(b), {
    onResize: (size) => {
      try {
        child.resize(size.cols, size.rows);
      } catch {
        // exited meanwhile
      }
    },
  });
  const hangup = () => {
    try {
      child.kill('SIGHUP');
    } catch {
      // gone
    }
  };
  process.on('SIGTERM', hangup);
  process.on('SIGHUP', hangup);
  try {
    const exit = await new Promise<{ exitCode: number; signal?: number }>((resolve) => {
      child.onExit((e) => resolve(e));
    });
    logger.debug(`  -> ${exit.signal ? `signal ${exit.signal}` : exit.exitCode}`);
    return exitStatus(exit);
  } finally {
    stop();
    output.dispose();
    process.off('SIGTERM', hangup);
    process.off('SIGHUP', hangup);
  }
}
