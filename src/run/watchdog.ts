import type { RunOptions } from './runner.ts';

/**
 * A stalled long step (the original's hanging mksquashfs) is killed when neither its output
 * nor its output file has changed for `stallMs`, then retried once; the error says so.
 * IB_NATIVE_STALL_SECONDS overrides the default of 180 s.
 */
export function stallMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.IB_NATIVE_STALL_SECONDS);
  return (Number.isFinite(v) && v > 0 ? v : 180) * 1000;
}

export function watchdog(file: string, env: NodeJS.ProcessEnv = process.env): RunOptions {
  return { stallMs: stallMs(env), watchFile: file, retries: 1, retryDelayMs: 1000 };
}
