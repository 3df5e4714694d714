import { type EventSink, eventLine } from '../events.ts';
import { plainDisplay } from './plain.ts';
import { terminalDisplay } from './terminal.ts';

/**
 * Which display a command gets: `--json` asks for newline-delimited JSON events on stdout; a
 * terminal (and not CI, not TERM=dumb) gets the live display; anything else plain lines.
 * Human displays write to stderr, so stdout stays for results (paths, or the JSON events).
 */
export type DisplayMode = 'json' | 'terminal' | 'plain';

export function displayMode(o: { json?: boolean; isTTY: boolean; env: NodeJS.ProcessEnv }): DisplayMode {
  if (o.json) return 'json';
  const ci = o.env.CI !== undefined && !['', '0', 'false'].includes(o.env.CI.toLowerCase());
  if (!o.isTTY || ci || o.env.TERM === 'dumb') return 'plain';
  return 'terminal';
}

export interface Display {
  mode: DisplayMode;
  sink: EventSink;
  /** Stop any live redrawing; call before printing anything else to the terminal. */
  close(): void;
}

export function openDisplay(
  mode: DisplayMode,
  o: { verbose?: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {},
): Display {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  if (mode === 'json') return { mode, sink: (e) => stdout.write(eventLine(e)), close() {} };
  if (mode === 'terminal') return { mode, ...terminalDisplay(stderr, { verbose: o.verbose }) };
  return { mode, sink: plainDisplay((t) => stderr.write(t), { verbose: o.verbose }), close() {} };
}
