import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { UserTerminal } from '../../../src/tty/terminal.ts';

/** A fake terminal: input is a stream with raw mode recorded, output records writes and can resize. */
export function fakeTerminal(o: { tty?: boolean; columns?: number; rows?: number } = {}) {
  const rawModes: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: o.tty ?? true,
    isRaw: false,
    setRawMode(raw: boolean) {
      rawModes.push(raw);
      input.isRaw = raw;
      return input;
    },
  });
  const written: string[] = [];
  const output = Object.assign(new EventEmitter(), {
    isTTY: o.tty ?? true,
    columns: o.columns,
    rows: o.rows,
    write(d: string | Uint8Array) {
      written.push(typeof d === 'string' ? d : Buffer.from(d).toString());
      return true;
    },
  });
  const term = { input, output } as unknown as UserTerminal;
  return { term, input, output, rawModes, text: () => written.join('') };
}

/** Polls until ok() holds; throws after ms. */
export async function until(what: string, ok: () => boolean, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
