import { existsSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { CommandError, InterruptedError, isNoSpace } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Text written to the command's stdin (stdin is closed otherwise). */
  input?: string;
  /** Collect stdout and return it (default true). */
  capture?: boolean;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  /** Say what this command is for; appears in the error. */
  context?: string;
  /** Extra attempts on failure, with a pause between them. */
  retries?: number;
  retryDelayMs?: number;
  /** Treat these exit codes as success. */
  okExitCodes?: number[];
  /** Watchdog: kill the command when neither its output nor `watchFile`'s size changed for this long. */
  stallMs?: number;
  watchFile?: string;
  /** Called with each chunk of output as it arrives (progress watchdogs, consoles). */
  onOutput?: (chunk: string) => void;
  /**
   * A step of attaching or cleaning up (attach, unmount, detach, remove): it still runs after an
   * interruption, when other commands are refused, and an interruption never kills it midway, so
   * that what it did is always known and undone.
   */
  critical?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

/** The one place external commands are started. Injectable so tests can record what would run. */
export interface Runner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Milliseconds spent inside external commands, per program. */
  readonly toolTime: Map<string, number>;
  /** Kill every running command (process groups) but the critical ones, used on interruption. */
  killAll(signal?: NodeJS.Signals): void;
}

const TAIL_LINES = 25;

export function tail(text: string, lines = TAIL_LINES): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fileSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return -1;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface ProcessRunnerOptions {
  logger: Logger;
  /** Environment added to every command (e.g. proxy settings). */
  baseEnv?: Record<string, string>;
  /** Set when interruption has started: new commands are refused (critical ones still run). */
  isInterrupted?: () => string | undefined;
}

/**
 * Runs real processes: argv arrays only (never a shell string), stdin closed, locale fixed,
 * every command logged, failures reported with the command and the tail of its output.
 * Children get PR_SET_PDEATHSIG (via setpriv) so they die with us even on SIGKILL.
 */
export function processRunner(opts: ProcessRunnerOptions): Runner {
  const toolTime = new Map<string, number>();
  /** Running commands: pid -> critical. */
  const running = new Map<number, boolean>();
  const havePdeath = existsSync('/usr/bin/setpriv');

  async function once(argv: readonly string[], o: RunOptions): Promise<RunResult> {
    const [file, ...args] = havePdeath ? ['setpriv', '--pdeathsig', 'KILL', '--', ...argv] : argv;
    opts.logger.debug(`$ ${argv.join(' ')}${o.cwd ? `   (in ${o.cwd})` : ''}`);
    const started = Date.now();
    const child = execa(file!, args, {
      cwd: o.cwd,
      env: { LC_ALL: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...opts.baseEnv, ...o.env },
      extendEnv: true,
      input: o.input,
      stdin: o.input === undefined ? 'ignore' : 'pipe',
      all: true,
      reject: false,
      timeout: o.timeoutMs,
      killSignal: 'SIGKILL',
      detached: true,
      buffer: true,
      stripFinalNewline: false,
    });
    if (child.pid) running.set(child.pid, Boolean(o.critical));
    let lastProgress = Date.now();
    child.all?.on('data', (d: Buffer) => {
      lastProgress = Date.now();
      o.onOutput?.(d.toString());
    });
    // progress watchdog: output or the watched file growing counts as progress
    let stalled = false;
    let watchedSize = -1;
    const watchdog = o.stallMs
      ? setInterval(
          () => {
            if (o.watchFile) {
              const size = fileSize(o.watchFile);
              if (size !== watchedSize) {
                watchedSize = size;
                lastProgress = Date.now();
              }
            }
            if (Date.now() - lastProgress > o.stallMs!) {
              stalled = true;
              if (child.pid) killGroup(child.pid, 'SIGKILL');
            }
          },
          Math.min(1000, o.stallMs),
        )
      : undefined;
    const r = await child;
    if (watchdog) clearInterval(watchdog);
    if (child.pid) running.delete(child.pid);
    const durationMs = Date.now() - started;
    const prog = argv[0] === 'chroot' || argv[0] === 'unshare' ? (argv[2] ?? argv[0]!) : argv[0]!;
    toolTime.set(prog, (toolTime.get(prog) ?? 0) + durationMs);
    const code = typeof r.exitCode === 'number' ? r.exitCode : -1;
    const ok = !r.signal && !r.timedOut && (code === 0 || (o.okExitCodes ?? []).includes(code));
    opts.logger.debug(`  -> ${r.signal ?? code} in ${(durationMs / 1000).toFixed(1)}s`);
    if (!ok) {
      const interruptedNow = o.critical ? undefined : opts.isInterrupted?.();
      if (interruptedNow) throw new InterruptedError(interruptedNow);
      const output = String(r.all ?? `${r.stderr ?? ''}`);
      throw new CommandError(
        argv,
        r.exitCode,
        tail(output),
        stalled
          ? `the watchdog after ${Math.round(o.stallMs! / 1000)} s without progress`
          : r.timedOut
            ? `timeout after ${o.timeoutMs} ms`
            : r.signal,
        o.context,
      );
    }
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: code, durationMs };
  }

  return {
    toolTime,
    async run(argv, o = {}) {
      // once interrupted, only cleanup runs: a long step must not start after Ctrl-C
      const interrupted = o.critical ? undefined : opts.isInterrupted?.();
      if (interrupted) throw new InterruptedError(interrupted);
      const attempts = 1 + (o.retries ?? 0);
      let last: unknown;
      for (let i = 1; i <= attempts; i++) {
        try {
          return await once(argv, o);
        } catch (e) {
          last = e;
          // a full disk stays full: retrying would only fail again, slower
          if (e instanceof InterruptedError || isNoSpace(e) || i === attempts) break;
          const sig = o.critical ? undefined : opts.isInterrupted?.();
          if (sig) throw new InterruptedError(sig);
          const delay = (o.retryDelayMs ?? 3000) * 2 ** (i - 1);
          opts.logger.warn(`${argv[0]} failed (attempt ${i}/${attempts}); retrying in ${delay / 1000}s`);
          await sleep(delay);
        }
      }
      throw last;
    },
    killAll(signal = 'SIGTERM') {
      for (const [pid, critical] of running) if (!critical) killGroup(pid, signal);
    },
  };
}

/** A runner that records commands and answers from a table; for unit tests. */
export function recordingRunner(
  answer: (argv: readonly string[]) => Partial<RunResult> | Error | undefined = () => undefined,
): Runner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    toolTime: new Map(),
    killAll() {},
    async run(argv) {
      calls.push([...argv]);
      const a = answer(argv);
      if (a instanceof Error) throw a;
      return { stdout: '', stderr: '', exitCode: 0, durationMs: 0, ...a };
    },
  };
}
