// Over 300 lines: the one process runner: argv, logging, retries, timeouts and the test double belong together.
import { existsSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { CommandError, CommandNotFoundError, InterruptedError, isNoSpace } from '../errors.ts';
import type { Logger } from '../log.ts';
import { describeMissing, missingCommand, missingHint } from './missing-command.ts';
import { lineSplitter, type ProgressParser, type ProgressUpdate } from './progress.ts';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Text written to the command's stdin (stdin is closed otherwise). */
  input?: string;
  /** Collect stdout and return it (default true). */
  capture?: boolean;
  /** Return stdout as bytes in `stdoutBytes` (file contents, archives) instead of text. */
  binary?: boolean;
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
  /** Where this command and its output are logged (default: the runner's logger). */
  logger?: Logger;
  /** How to read the command's progress (see src/run/progress.ts); results go to `onProgress`. */
  progress?: ProgressParser;
  onProgress?: (p: ProgressUpdate) => void;
  /**
   * A step of attaching or cleaning up (attach, unmount, detach, remove): it still runs after an
   * interruption, when other commands are refused, and an interruption never kills it midway, so
   * that what it did is always known and undone.
   */
  critical?: boolean;
}

export interface RunResult {
  stdout: string;
  /** With `binary`: stdout exactly as the command wrote it. */
  stdoutBytes?: Buffer;
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

/** The last lines of a command's output; a line redrawn with `\r` (progress bars) shows its last state. */
export function tail(text: string, lines = TAIL_LINES): string {
  const all = text
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\r').filter(Boolean).at(-1) ?? '');
  return all.slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Size and modification time of a watched file: a file rewritten in place at the same size still counts. */
function fileStamp(f: string): string {
  try {
    const st = statSync(f);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'absent';
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
    const log = o.logger ?? opts.logger;
    log.debug(`$ ${argv.join(' ')}${o.cwd ? `   (in ${o.cwd})` : ''}`);
    const statusFd = o.progress?.source === 'fd3';
    const started = Date.now();
    const child = execa(file!, args, {
      cwd: o.cwd,
      env: { LC_ALL: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', ...opts.baseEnv, ...o.env },
      extendEnv: true,
      input: o.input,
      stdio: [
        o.input === undefined ? 'ignore' : 'pipe',
        'pipe',
        'pipe',
        ...(statusFd ? ['pipe' as const] : []),
      ],
      all: !o.binary,
      encoding: o.binary ? 'buffer' : 'utf8',
      reject: false,
      timeout: o.timeoutMs,
      killSignal: 'SIGKILL',
      detached: true,
      buffer: true,
      stripFinalNewline: false,
    });
    if (child.pid) running.set(child.pid, Boolean(o.critical));
    let lastProgress = Date.now();
    // the log gets every line of output; the progress parser its lines (or those of fd 3)
    const logLines = lineSplitter(false);
    const parse = o.progress?.start();
    const progressLines = lineSplitter(true);
    /** Steps reported by this run with a fraction short of 1, completed when it succeeds. */
    const unfinished = new Map<string, ProgressUpdate>();
    const parseLines = (lines: string[]) => {
      for (const line of lines) {
        const p = parse?.(line);
        if (!p) continue;
        if (p.fraction !== undefined && p.fraction < 1) unfinished.set(p.step, p);
        else unfinished.delete(p.step);
        o.onProgress?.(p);
      }
    };
    const feed = (chunk: string) => parse && parseLines(progressLines.push(chunk));
    // binary runs keep stdout exact; their stderr is what is logged
    for (const out of o.binary ? [child.stderr] : [child.all])
      out?.on('data', (d: Buffer) => {
        lastProgress = Date.now();
        const text = d.toString();
        o.onOutput?.(text);
        if (log.output) for (const line of logLines.push(text)) log.output(line);
        if (!statusFd) feed(text);
      });
    if (statusFd)
      (child.stdio[3] as NodeJS.ReadableStream | undefined)?.on('data', (d: Buffer) => {
        lastProgress = Date.now();
        feed(d.toString());
      });
    // progress watchdog: output or the watched file growing counts as progress
    let stalled = false;
    let watchedStamp = '';
    const watchdog = o.stallMs
      ? setInterval(
          () => {
            if (o.watchFile) {
              const stamp = fileStamp(o.watchFile);
              if (stamp !== watchedStamp) {
                watchedStamp = stamp;
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
    if (log.output) for (const line of logLines.end()) log.output(line);
    parseLines(progressLines.end());
    if (child.pid) running.delete(child.pid);
    const durationMs = Date.now() - started;
    const prog = argv[0] === 'chroot' || argv[0] === 'unshare' ? (argv[2] ?? argv[0]!) : argv[0]!;
    toolTime.set(prog, (toolTime.get(prog) ?? 0) + durationMs);
    const code = typeof r.exitCode === 'number' ? r.exitCode : -1;
    const ok = !r.signal && !r.timedOut && (code === 0 || (o.okExitCodes ?? []).includes(code));
    log.debug(`  -> ${r.signal ?? code} in ${(durationMs / 1000).toFixed(1)}s`);
    if (!ok) {
      const interruptedNow = o.critical ? undefined : opts.isInterrupted?.();
      if (interruptedNow) throw new InterruptedError(interruptedNow);
      const output = o.binary
        ? Buffer.from(r.stderr as Uint8Array).toString()
        : String(r.all ?? `${r.stderr ?? ''}`);
      const missing =
        stalled || r.timedOut || r.signal ? undefined : missingCommand(argv, r.exitCode, output, r.code);
      if (missing)
        throw new CommandNotFoundError(
          argv,
          r.exitCode,
          tail(output),
          {
            what: describeMissing(missing),
            where: missing.where,
            hint: missingHint(missing, argv),
            program: missing.program,
          },
          o.context,
        );
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
    // a tool may stop reporting short of 100 % (apt's last pmstatus is ~98 %): it is done now
    for (const p of unfinished.values())
      o.onProgress?.({ ...p, fraction: 1, ...(p.total !== undefined ? { done: p.total } : {}) });
    if (o.binary) {
      const stdoutBytes = Buffer.from(r.stdout as Uint8Array);
      const stderr = Buffer.from(r.stderr as Uint8Array).toString();
      return { stdout: '', stdoutBytes, stderr, exitCode: code, durationMs };
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
          // a full disk stays full, a missing program stays missing: retrying would only fail again, slower
          if (
            e instanceof InterruptedError ||
            e instanceof CommandNotFoundError ||
            isNoSpace(e) ||
            i === attempts
          )
            break;
          const sig = o.critical ? undefined : opts.isInterrupted?.();
          if (sig) throw new InterruptedError(sig);
          const delay = (o.retryDelayMs ?? 3000) * 2 ** (i - 1);
          (o.logger ?? opts.logger).warn(
            `${argv[0]} failed (attempt ${i}/${attempts}); retrying in ${delay / 1000}s`,
          );
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

/**
 * The same runner with defaults for every call: a build logs its commands into its own log and
 * turns their progress into its events, while the processes stay in the one shared runner.
 */
export function scopedRunner(runner: Runner, defaults: Pick<RunOptions, 'logger' | 'onProgress'>): Runner {
  return {
    get toolTime() {
      return runner.toolTime;
    },
    killAll: (signal) => runner.killAll(signal),
    run: (argv, o = {}) => runner.run(argv, { ...defaults, ...o }),
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
