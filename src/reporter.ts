import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, copyFileSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CommandError, exitCodeFor, hintOf, InterruptedError, UserError } from './errors.ts';
import type { BuildEvent, ErrorEvent, EventBody, EventSink } from './events.ts';
import { type Logger, redact } from './log.ts';
import type { ProgressUpdate } from './run/progress.ts';
import type { Publication } from './sys/files.ts';

/**
 * The voice of one build: a Logger for the pipeline (what it says becomes `log`/`warning`
 * events and lines of the full log), the emitter of its stage and progress events, and the
 * writer of its log file. Every event gets the profile name and the time; every string that
 * goes to the log or an event is masked for proxy credentials first.
 */
export interface ReporterOptions {
  profile: string;
  sink?: EventSink;
  /** The full log: every message, every command and its output. Created at the first line. */
  logFile?: string;
  /** Strings masked everywhere (proxy credentials); URL credentials are always masked. */
  secrets?: readonly string[];
  /** Debug lines (commands) become events too. */
  verbose?: boolean;
  /** Also told every message (callers that still pass a Logger). */
  tee?: Logger;
  /** Milliseconds between two progress events of one step (default 500). */
  progressIntervalMs?: number;
  now?: () => number;
}

interface StepState {
  fraction?: number;
  done?: number;
  at: number;
  /** The latest update held back by the gate, sent when the stage ends. */
  held?: ProgressUpdate;
}

/**
 * Whether a progress update is worth an event (pure): the first one of a step, completion, or
 * something new after `minMs`; never one that would go backwards.
 */
export function progressGate(
  prev: { fraction?: number; done?: number; at: number } | undefined,
  p: ProgressUpdate,
  now: number,
  minMs = 500,
): boolean {
  if (!prev) return true;
  if (p.fraction !== undefined && prev.fraction !== undefined) {
    if (p.fraction <= prev.fraction) return false;
    if (p.fraction === 1) return true;
  } else if (p.done !== undefined && prev.done !== undefined && p.done <= prev.done) return false;
  return now - prev.at >= minMs;
}

export class BuildReporter implements Logger {
  private fd: number | undefined;
  private currentStage: string | undefined;
  private failedStage: string | undefined;
  /** The stage the calling code runs in, when stages run at once (the image families). */
  private readonly context = new AsyncLocalStorage<string>();
  /** Per stage and step (`stage\0step`): the last progress sent. */
  private steps = new Map<string, StepState>();
  private readonly now: () => number;
  /** Seconds spent in each stage so far. */
  readonly seconds: Record<string, number> = {};

  private logBroken = false;

  constructor(private readonly o: ReporterOptions) {
    this.now = o.now ?? Date.now;
  }

  get profile(): string {
    return this.o.profile;
  }
  get logFile(): string | undefined {
    return this.o.logFile;
  }
  get stage(): string | undefined {
    return this.here;
  }

  /** The stage of the calling code: the one it runs within, else the last one begun. */
  private get here(): string | undefined {
    return this.context.getStore() ?? this.currentStage;
  }

  /**
   * Run `fn` as part of `stage` (begun and ended by the caller): its logs and its commands'
   * progress are told as that stage's, even while another stage runs at the same time.
   */
  within<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    return this.context.run(stage, fn);
  }

  /** Mask these too from now on (the profile's password hashes, known once it is resolved). */
  addSecrets(more: readonly string[]): void {
    if (more.length) this.o.secrets = [...(this.o.secrets ?? []), ...more];
  }

  /** Once the profile is resolved, events carry its name rather than the path it was given as. */
  rename(profile: string): void {
    this.o.profile = profile;
  }

  emit(body: EventBody): void {
    const e = { ...body, profile: this.o.profile, time: new Date(this.now()).toISOString() } as BuildEvent;
    this.o.sink?.(e);
  }

  private mask(text: string): string {
    return redact(text, this.o.secrets);
  }

  private write(level: string, text: string): void {
    if (!this.o.logFile || this.logBroken) return;
    try {
      if (this.fd === undefined) {
        mkdirSync(path.dirname(this.o.logFile), { recursive: true });
        this.fd = openSync(this.o.logFile, 'a');
      }
      const stamp = new Date(this.now()).toISOString();
      writeSync(this.fd, `${stamp} ${level.padEnd(5)} ${text}\n`);
    } catch (e) {
      // a full disk must not stop the build's cleanup (umount, detach log through here): say it
      // once on the display and go on without the file
      this.logBroken = true;
      this.emit({
        type: 'warning',
        message: `could not write the build log ${this.o.logFile}: ${(e as Error).message}; going on without it`,
      });
    }
  }

  info(msg: string): void {
    const m = this.mask(msg);
    this.write('INFO', m);
    this.o.tee?.info(m);
    this.emit({ type: 'log', level: 'info', message: m, stage: this.here });
  }

  warn(msg: string): void {
    const m = this.mask(msg);
    this.write('WARN', m);
    this.o.tee?.warn(m);
    this.emit({ type: 'warning', message: m, stage: this.here });
  }

  debug(msg: string): void {
    const m = this.mask(msg);
    this.write('DEBUG', m);
    this.o.tee?.debug(m);
    if (this.o.verbose) this.emit({ type: 'log', level: 'debug', message: m, stage: this.here });
  }

  output(line: string): void {
    this.write('OUT', `| ${this.mask(line)}`);
  }

  stageStart(stage: string): void {
    this.currentStage = stage;
    this.forgetSteps(stage);
    this.write('INFO', `stage ${stage}: start`);
    this.emit({ type: 'stage-start', stage });
  }

  stageEnd(stage: string, seconds: number, ok: boolean, cacheHit?: boolean): void {
    for (const [key, s] of this.steps)
      if (key.startsWith(`${stage}\0`) && s.held)
        this.sendProgress(stage, { ...s.held, step: key.slice(stage.length + 1) });
    this.forgetSteps(stage);
    this.write(
      'INFO',
      `stage ${stage}: ${ok ? 'done' : 'failed'} in ${seconds.toFixed(1)}s${cacheHit ? ' (from cache)' : ''}`,
    );
    this.emit({ type: 'stage-end', stage, seconds, ok, ...(cacheHit === undefined ? {} : { cacheHit }) });
    if (this.currentStage === stage) this.currentStage = undefined;
    if (!ok) this.failedStage ??= stage;
  }

  private forgetSteps(stage: string): void {
    for (const key of [...this.steps.keys()]) if (key.startsWith(`${stage}\0`)) this.steps.delete(key);
  }

  /**
   * Start a stage whose end the caller marks (once; later calls do nothing): for a stage whose
   * work ends inside a scope that outlives it (a family's layer stays mounted for its formats).
   */
  begin(stage: string, cacheHit?: () => boolean | undefined): (ok: boolean) => void {
    const t0 = this.now();
    this.stageStart(stage);
    let ended = false;
    return (ok) => {
      if (ended) return;
      ended = true;
      const s = (this.now() - t0) / 1000;
      this.seconds[stage] = (this.seconds[stage] ?? 0) + s;
      this.stageEnd(stage, s, ok, cacheHit?.());
    };
  }

  /** Run one stage: its start and end events (with its time and cache hit) around `fn`. */
  async timed<T>(stage: string, fn: () => Promise<T>, cacheHit?: () => boolean | undefined): Promise<T> {
    const end = this.begin(stage, cacheHit);
    let ok = false;
    try {
      const r = await this.within(stage, fn);
      ok = true;
      return r;
    } finally {
      end(ok);
    }
  }

  /** A parsed progress line of the running command; throttled, never backwards. */
  progress(p: ProgressUpdate): void {
    const stage = this.here;
    if (!stage) return;
    const prev = this.steps.get(`${stage}\0${p.step}`);
    const now = this.now();
    if (!progressGate(prev, p, now, this.o.progressIntervalMs)) {
      if (prev && this.isAhead(prev, p)) prev.held = p;
      return;
    }
    this.sendProgress(stage, p);
  }

  private isAhead(prev: StepState, p: ProgressUpdate): boolean {
    if (p.fraction !== undefined && prev.fraction !== undefined) return p.fraction > prev.fraction;
    return (p.done ?? 0) > (prev.done ?? 0);
  }

  private sendProgress(stage: string, p: ProgressUpdate): void {
    this.steps.set(`${stage}\0${p.step}`, { fraction: p.fraction, done: p.done, at: this.now() });
    this.emit({ type: 'progress', stage, ...p });
  }

  /** The error event of a failed build (emitted, and returned for callers that print it). */
  fail(err: unknown, interruptedBy?: string): ErrorEvent {
    const body = errorEventBody(err, interruptedBy, this.o.secrets);
    const e = {
      ...body,
      stage: this.here ?? this.failedStage,
      log: this.o.logFile,
    };
    this.write('ERROR', e.message);
    this.emit(e);
    return { ...e, profile: this.o.profile, time: new Date(this.now()).toISOString() };
  }

  /** Copy the log, as it is now, to `dest` (atomically: written beside it, then renamed). */
  /** Stage a copy of the log so far as `dest`, published with the images. */
  stageLog(pub: Publication, dest: string): void {
    if (!this.o.logFile || this.fd === undefined) return;
    copyFileSync(this.o.logFile, pub.aside(dest));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** What an error event says about an error (pure): its kind, exit code, and the failed command. */
export function errorEventBody(
  err: unknown,
  interruptedBy?: string,
  secrets: readonly string[] = [],
): Omit<ErrorEvent, 'profile' | 'time'> {
  const mask = (s: string) => redact(s, secrets);
  if (interruptedBy || err instanceof InterruptedError) {
    const sig = interruptedBy ?? (err as InterruptedError).signal;
    return {
      type: 'error',
      kind: 'interrupted',
      exitCode: 130,
      message: `interrupted by ${sig}; mounts, devices and partial files were cleaned up`,
    };
  }
  const code = exitCodeFor(err);
  const hint = hintOf(err);
  const message = mask(err instanceof Error ? err.message : String(err));
  const common = { type: 'error' as const, exitCode: code, message, ...(hint ? { hint: mask(hint) } : {}) };
  if (err instanceof CommandError)
    return {
      ...common,
      kind: 'command',
      command: err.argv.map(mask),
      ...(err.exitCode === undefined ? {} : { commandExitCode: err.exitCode }),
      ...(err.signal ? { signal: err.signal } : {}),
      ...(err.context ? { context: mask(err.context) } : {}),
      outputTail: mask(err.stderrTail),
    };
  if (err instanceof UserError) return { ...common, kind: 'input' };
  return { ...common, kind: code === 4 ? 'boot' : 'internal' };
}
