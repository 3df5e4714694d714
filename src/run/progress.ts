/**
 * Progress parsers: each reads the lines a tool prints (or writes to a status file descriptor)
 * and says how far it is. The Runner feeds them (`progress` in its run options); the build turns
 * what they return into `progress` events. All pure, tested on real output samples.
 */

export interface ProgressUpdate {
  /** What is progressing, e.g. "apt install", "mksquashfs base". */
  step: string;
  /** 0..1 when the total is known. */
  fraction?: number;
  done?: number;
  total?: number;
  /** `s` when done/total are seconds of a wait rather than items. */
  unit?: 's';
}

export type LineParser = (line: string) => ProgressUpdate | undefined;

export interface ProgressParser {
  /** Where the tool reports progress: its output (default) or file descriptor 3 (`PROGRESS_FD`). */
  source?: 'output' | 'fd3';
  /** A fresh parser for one run (parsers may count across lines). */
  start(): LineParser;
}

/** The extra file descriptor a tool writes machine-readable status to. */
export const PROGRESS_FD = 3;

/** apt options that write `dlstatus:`/`pmstatus:` lines to PROGRESS_FD. */
export const APT_STATUS_ARGS = ['-o', `APT::Status-Fd=${PROGRESS_FD}`];

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/**
 * apt's status lines: `dlstatus:<file>:<percent>:<text>` while downloading and
 * `pmstatus:<package[:arch]>:<percent>:<text>` while dpkg unpacks and configures.
 */
export function aptProgress(what: 'update' | 'install'): ProgressParser {
  return {
    source: 'fd3',
    start: () => (line) => {
      const m = /^(dlstatus|pmstatus):.*?:(\d+(?:\.\d+)?):/.exec(line);
      if (!m) return undefined;
      const fraction = clamp01(Number(m[2]) / 100);
      if (m[1] === 'dlstatus') return { step: what === 'update' ? 'apt update' : 'apt download', fraction };
      return { step: 'apt install', fraction };
    },
  };
}

/**
 * debootstrap prints one `I:` line per package and phase. Packages are counted while they are
 * fetched (no total is printed); unpacking and configuring then go through every fetched
 * package once each, which gives the install step its total.
 */
export function debootstrapProgress(): ProgressParser {
  return {
    start() {
      const fetched = new Set<string>();
      let extracted = 0;
      let installed = 0;
      return (line) => {
        let m = /^I: (?:Retrieving|Validating) (\S+) \S+$/.exec(line);
        if (m) {
          fetched.add(m[1]!);
          return { step: 'debootstrap fetch', done: fetched.size };
        }
        if (/^I: Extracting \S+\.\.\.$/.test(line)) return { step: 'debootstrap extract', done: ++extracted };
        m = /^I: (?:Unpacking|Configuring) \S+\.\.\.$/.exec(line);
        if (m && fetched.size) {
          const total = 2 * fetched.size;
          installed = Math.min(installed + 1, total);
          return { step: 'debootstrap install', done: installed, total, fraction: installed / total };
        }
        return undefined;
      };
    },
  };
}

/** mksquashfs's progress bar: `[====/    ] 1500/5577  26%` (the total grows while it scans). */
export function mksquashfsProgress(step: string): ProgressParser {
  return {
    start: () => (line) => {
      const m = /\]\s+(\d+)\/(\d+)\s+\d+%\s*$/.exec(line);
      if (!m) return undefined;
      const done = Number(m[1]);
      const total = Number(m[2]);
      return total > 0 ? { step, done, total, fraction: clamp01(done / total) } : undefined;
    },
  };
}

/** `qemu-img convert -p`: `    (12.50/100%)`. */
export function qemuImgProgress(step: string): ProgressParser {
  return {
    start: () => (line) => {
      const m = /^\s*\((\d+(?:\.\d+)?)\/100%\)\s*$/.exec(line);
      return m ? { step, fraction: clamp01(Number(m[1]) / 100) } : undefined;
    },
  };
}

/**
 * Cuts a stream of chunks into lines. Progress bars redraw with `\r`: for parsing every
 * redraw counts as a line (`splitCr`), for logging only the last state of a line is kept.
 */
export function lineSplitter(splitCr: boolean): { push(chunk: string): string[]; end(): string[] } {
  let rest = '';
  const cut = (text: string): string[] =>
    splitCr
      ? text.split(/\r\n|\r|\n/)
      : text.split('\n').map((l) => {
          const parts = l.split('\r').filter((p) => p !== '');
          return parts.at(-1) ?? '';
        });
  return {
    push(chunk) {
      const text = rest + chunk;
      const cutAt = Math.max(text.lastIndexOf('\n'), splitCr ? text.lastIndexOf('\r') : -1);
      if (cutAt < 0) {
        rest = text;
        return [];
      }
      rest = text.slice(cutAt + 1);
      return cut(text.slice(0, cutAt)).filter((l) => l !== '');
    },
    end() {
      const last = rest;
      rest = '';
      return last ? cut(last).filter((l) => l !== '') : [];
    },
  };
}
