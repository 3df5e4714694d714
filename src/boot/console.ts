import { tail } from '../run/runner.ts';
import { type BootFailureReason, type ConsoleFailure, consoleFailure } from './refusals.ts';

/**
 * Watching a serial console: clean the raw bytes (ANSI escapes, carriage returns), and wait until
 * the login prompt and every expected string have appeared, or time out with the console's tail.
 */

export const CONSOLE_TAIL_LINES = 30;

/** The boot did not reach the login prompt (and every expected string) in time. */
export class BootTimeoutError extends Error {
  override name = 'BootTimeoutError';
  constructor(
    readonly timeoutSec: number,
    /** What had not appeared yet ("login prompt", expected strings). */
    readonly pending: readonly string[],
    readonly consoleTail: string,
    readonly console: string,
    /** What to do about it. */
    public hint?: string,
  ) {
    super(
      `no ${pending.join(', ')} on the serial console after ${timeoutSec} s\n` +
        `--- last ${CONSOLE_TAIL_LINES} lines of the console ---\n${consoleTail}`,
    );
  }
}

/** The console closed (QEMU exited) or the wait was aborted before the login prompt. */
export class BootFailedError extends Error {
  override name = 'BootFailedError';
  constructor(
    message: string,
    readonly consoleTail: string,
    readonly console: string,
    /** What had not appeared yet. */
    readonly pending: readonly string[] = [],
    public hint?: string,
  ) {
    super(`${message}\n--- last ${CONSOLE_TAIL_LINES} lines of the console ---\n${consoleTail || '(empty)'}`);
  }
  /** The signal that ended QEMU itself (a crash of the emulator, not of the guest), if one did. */
  crashSignal?: string;
  /** What QEMU wrote to stderr (its tail), when it exited. */
  qemuStderr?: string;
  /** Set when a line of the console told why (a `ConsoleFailure`): the watch stopped there. */
  reason?: BootFailureReason;
  /** That line. */
  consoleLine?: string;
}

// Serial output is full of control characters: these patterns match them on purpose.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matches terminal escapes
const OSC_RE = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matches terminal escapes
const CSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]/;
/** Other escapes: ESC, intermediates, one final byte (charset selection, keypad modes, RIS, …). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matches terminal escapes
const ESC_OTHER_RE = /\x1b[ -/]*[0-~]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removes control characters
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
const all = (re: RegExp) => new RegExp(re.source, 'g');
const atStart = (re: RegExp) => new RegExp(`^(?:${re.source})`);
const OSC = all(OSC_RE);
const CSI = all(CSI_RE);
const ESC_OTHER = all(ESC_OTHER_RE);
const COMPLETE = { '[': atStart(CSI_RE), ']': atStart(OSC_RE), other: atStart(ESC_OTHER_RE) };

/** Plain text of a complete piece of serial output: no escapes, no carriage returns, no controls. */
export function cleanConsole(raw: string): string {
  return raw
    .replace(OSC, '')
    .replace(CSI, '')
    .replace(ESC_OTHER, '')
    .replace(/\r+\n/g, '\n')
    .replace(CONTROL, '');
}

/** How much of s can be cleaned now: holds back a trailing incomplete escape or a lone final \r. */
function safeCut(s: string): number {
  let cut = s.length;
  const esc = s.lastIndexOf('\x1b');
  if (esc >= 0 && s.length - esc < 256) {
    const rest = s.slice(esc);
    const complete = (rest[1] === '[' || rest[1] === ']' ? COMPLETE[rest[1]] : COMPLETE.other).test(rest);
    if (!complete) cut = esc;
  }
  while (cut > 0 && s[cut - 1] === '\r') cut--;
  return cut;
}

/** Cleans a stream chunk by chunk, even when an escape sequence is split between two chunks. */
export function consoleCleaner(): { push(chunk: string): string; flush(): string } {
  let pending = '';
  return {
    push(chunk) {
      const s = pending + chunk;
      const cut = safeCut(s);
      pending = s.slice(cut);
      return cleanConsole(s.slice(0, cut));
    },
    flush() {
      const s = cleanConsole(pending);
      pending = '';
      return s;
    },
  };
}

/** The error of a console line that failed the boot: what it means, the line, its `reason`. */
function failureError(
  seen: { failure: ConsoleFailure; line: string },
  text: string,
  pending: readonly string[],
): BootFailedError {
  const err = new BootFailedError(
    `${seen.failure.says}\nconsole: ${seen.line}`,
    tail(text, CONSOLE_TAIL_LINES),
    text,
    pending,
    seen.failure.hint,
  );
  err.reason = seen.failure.reason;
  err.consoleLine = seen.line;
  return err;
}

export interface WatchConsoleOptions {
  /** Strings that must all appear on the console (in any order, each on a finished line), besides the login prompt. */
  expect?: readonly string[];
  loginPattern?: RegExp;
  timeoutMs: number;
  /** Stops waiting; rejects with a BootFailedError naming the reason. */
  signal?: AbortSignal;
  /** Console lines that fail the boot at once (e.g. SECURE_BOOT_FAILURES), a BootFailedError with their `reason`. */
  failOn?: readonly ConsoleFailure[];
}

export interface WatchResult {
  /** Seconds from the start of the watch to the last awaited string. */
  seconds: number;
  /** The whole console so far, cleaned. */
  console: string;
}

/** Where a new match can start in `window`: the line start at least 1 KiB before `from`. Pure. */
function windowStart(window: string, from: number): number {
  if (from <= 0) return 0;
  return window.lastIndexOf('\n', Math.max(0, from - 1024)) + 1;
}

/**
 * The console so far, kept so that each new piece is matched against a short recent window only:
 * matching against the whole text made V8 flatten it on every chunk (quadratic in the console's
 * size, minutes for a few hundred KiB arriving a byte at a time).
 */
class ConsoleText {
  private readonly parts: string[] = [];
  private recent = '';
  constructor(private readonly keep: number) {}

  /** Appends `piece`; returns the window to match in and where the new text starts in it. */
  append(piece: string): { window: string; from: number } {
    const from = this.recent.length;
    const window = this.recent + piece;
    this.parts.push(piece);
    this.recent = window.length > this.keep ? window.slice(window.length - this.keep) : window;
    return { window, from };
  }

  get text(): string {
    const all = this.parts.join('');
    this.parts.splice(0, this.parts.length, all);
    return all;
  }
}

/**
 * Resolves once the login prompt and every expected string have appeared on the stream. Rejects with
 * BootTimeoutError after timeoutMs, with BootFailedError when the stream ends first, on abort, or at
 * once on a `failOn` line (then with its `reason`).
 */
export function watchConsole(stream: NodeJS.ReadableStream, opts: WatchConsoleOptions): Promise<WatchResult> {
  const started = Date.now();
  const loginPattern = opts.loginPattern ?? /login:\s*$/m;
  const waiting = new Map<string, (window: string, from: number) => boolean>();
  const login = new RegExp(loginPattern.source, loginPattern.flags.replace('g', ''));
  waiting.set('login prompt', (window, from) => login.test(window.slice(windowStart(window, from))));
  // an expected string counts once its line has ended: the caller reads the rest of that line
  // (a value printed after a marker) from the console, which stops growing when the watch ends
  for (const s of opts.expect ?? []) {
    waiting.set(JSON.stringify(s), (window, from) => {
      const at = window.indexOf(s, windowStart(window, Math.max(0, from - s.length)));
      return at >= 0 && window.includes('\n', at + s.length);
    });
  }
  const failOn = opts.failOn ?? [];
  const longest = Math.max(0, ...(opts.expect ?? []).map((s) => s.length));
  const cleaner = consoleCleaner();
  const con = new ConsoleText(Math.max(8192, 2 * longest));

  return new Promise<WatchResult>((resolve, reject) => {
    let over = false;
    const finish = (err?: Error) => {
      if (over) return; // a failure line in the console's last piece, then its close
      over = true;
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      opts.signal?.removeEventListener('abort', onAbort);
      stream.resume(); // keep draining whatever still comes, so the writer never blocks
      if (err) reject(err);
      else resolve({ seconds: (Date.now() - started) / 1000, console: con.text });
    };
    const add = (piece: string) => {
      if (!piece) return;
      const { window, from } = con.append(piece);
      const failed = failOn.length
        ? consoleFailure(window.slice(windowStart(window, from)), failOn)
        : undefined;
      if (failed) return finish(failureError(failed, con.text, [...waiting.keys()]));
      for (const [name, seen] of waiting) if (seen(window, from)) waiting.delete(name);
      if (waiting.size === 0) finish();
    };
    const onData = (chunk: Buffer | string) => add(cleaner.push(chunk.toString()));
    const closed = (why: string) => {
      add(cleaner.flush());
      if (waiting.size) {
        const text = con.text;
        finish(
          new BootFailedError(
            `${why} while waiting for ${[...waiting.keys()].join(', ')}`,
            tail(text, CONSOLE_TAIL_LINES),
            text,
            [...waiting.keys()],
          ),
        );
      }
    };
    const onEnd = () => closed('the console closed');
    const onError = (e: Error) => closed(`the console failed (${e.message})`);
    const onAbort = () => {
      const reason = opts.signal?.reason;
      closed(`stopped waiting (${reason instanceof Error ? reason.message : String(reason ?? 'aborted')})`);
    };
    const timer = setTimeout(() => {
      con.append(cleaner.flush());
      const text = con.text;
      const pending = [...waiting.keys()];
      finish(
        new BootTimeoutError(
          Math.round(opts.timeoutMs / 100) / 10,
          pending,
          tail(text, CONSOLE_TAIL_LINES),
          text,
        ),
      );
    }, opts.timeoutMs);

    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
