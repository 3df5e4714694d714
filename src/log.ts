import { appendFileSync } from 'node:fs';

/** A logger that can be injected; the CLI builds the real one, tests pass a silent or recording one. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  /** Detail that goes only to the log file (and the terminal with --verbose). */
  debug(msg: string): void;
  /** One line of a command's output: the log file only. */
  output?(line: string): void;
}

export interface ConsoleLoggerOptions {
  verbose?: boolean;
  file?: string;
  /** Strings to mask everywhere (e.g. proxy credentials). */
  secrets?: string[];
}

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  // user:password@ and a lone token@ in any URL
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^/\s@]+)@/gi, (_m, scheme: string, info: string) =>
    info.includes(':') ? `${scheme}***:***@` : `${scheme}***@`,
  );
}

export function consoleLogger(opts: ConsoleLoggerOptions = {}): Logger {
  const start = Date.now();
  const stamp = () => `[${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s]`;
  let fileBroken = false;
  // a full disk must not turn logging into a failure: cleanup logs every command it runs
  const toFile = (level: string, msg: string) => {
    if (!opts.file || fileBroken) return;
    try {
      appendFileSync(opts.file, `${new Date().toISOString()} ${level} ${redact(msg, opts.secrets)}\n`);
    } catch (e) {
      fileBroken = true;
      process.stderr.write(`warning: the log file ${opts.file} cannot be written: ${(e as Error).message}\n`);
    }
  };
  return {
    info(msg) {
      process.stderr.write(`${stamp()} ${redact(msg, opts.secrets)}\n`);
      toFile('INFO', msg);
    },
    warn(msg) {
      process.stderr.write(`${stamp()} warning: ${redact(msg, opts.secrets)}\n`);
      toFile('WARN', msg);
    },
    debug(msg) {
      if (opts.verbose) process.stderr.write(`${stamp()}   ${redact(msg, opts.secrets)}\n`);
      toFile('DEBUG', msg);
    },
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    debug: (m) => lines.push(`debug ${m}`),
  };
}
