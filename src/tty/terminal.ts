/**
 * The user's terminal during an interactive session (`ib-native shell`, `build --debug-shell`,
 * `boot --console`): raw mode so that every key (Ctrl-C, Ctrl-D, arrows) reaches the other side,
 * keystrokes forwarded as bytes, an optional detach key, size changes reported, and everything
 * restored when the session ends.
 */

/** What a session needs of the user's terminal (process.stdin/stdout, or fakes in tests). */
export interface UserTerminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream & {
    isTTY?: boolean;
    columns?: number;
    rows?: number;
    on(event: 'resize', listener: () => void): unknown;
    off(event: 'resize', listener: () => void): unknown;
  };
}

export function processTerminal(): UserTerminal {
  return { input: process.stdin, output: process.stdout };
}

/** The key that leaves `boot --console`, as telnet's escape: Ctrl-] (GS, 0x1d). */
export const DETACH_KEY = { byte: 0x1d, name: 'Ctrl-]' } as const;

/**
 * Splits keyboard input at the detach key: the bytes typed before it are forwarded, the key and
 * anything after it are dropped. Pure.
 */
export function splitAtDetach(
  chunk: Uint8Array,
  key: number = DETACH_KEY.byte,
): { forward: Buffer; detach: boolean } {
  const at = chunk.indexOf(key);
  const buf = Buffer.from(chunk);
  return at < 0 ? { forward: buf, detach: false } : { forward: buf.subarray(0, at), detach: true };
}

/** The terminal's size, with the classic 80x24 when it does not say (not a TTY). */
export function terminalSize(out: UserTerminal['output']): { cols: number; rows: number } {
  const cols = out.columns && out.columns > 0 ? out.columns : 80;
  const rows = out.rows && out.rows > 0 ? out.rows : 24;
  return { cols, rows };
}

export interface RelayOptions {
  /** Stop forwarding when this byte is typed, and call onDetach. */
  detachKey?: number;
  onDetach?: () => void;
  /** The terminal was resized. */
  onResize?: (size: { cols: number; rows: number }) => void;
}

/**
 * Forwards the user's keystrokes to `sink`, the terminal in raw mode, until the returned function
 * is called (which restores the terminal as it was). Safe to call the returned function twice.
 */
export function relayKeys(
  term: UserTerminal,
  sink: (data: Buffer) => void,
  opts: RelayOptions = {},
): () => void {
  const { input, output } = term;
  const wasRaw = (input as { isRaw?: boolean }).isRaw ?? false;
  if (input.isTTY && input.setRawMode) input.setRawMode(true);
  let active = true;
  const onData = (chunk: Buffer | string) => {
    if (!active) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (opts.detachKey === undefined) {
      sink(bytes);
      return;
    }
    const { forward, detach } = splitAtDetach(bytes, opts.detachKey);
    if (forward.length) sink(forward);
    if (detach) {
      stop();
      opts.onDetach?.();
    }
  };
  const onResize = () => opts.onResize?.(terminalSize(output));
  const stop = () => {
    if (!active) return;
    active = false;
    input.off('data', onData);
    output.off('resize', onResize);
    if (input.isTTY && input.setRawMode) input.setRawMode(wasRaw);
    input.pause();
  };
  input.on('data', onData);
  output.on('resize', onResize);
  input.resume();
  return stop;
}
