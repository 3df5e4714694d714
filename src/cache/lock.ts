import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { pidAlive } from '../sys/pid.ts';

/**
 * Per-entry lock files: `O_EXCL` create holding our pid. A lock whose pid is dead is stale
 * and taken over. Waiting builds poll, so two builds sharing an entry wait only for each other.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export function tryLock(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return false;
    }
    const owner = Number(text);
    // an empty file is a lock being written; stale only once it is old
    const stale =
      text === '' ? ageMs(file) > 10_000 : Number.isFinite(owner) && owner > 0 && !pidAlive(owner);
    if (!stale) return false;
    // take a stale lock over atomically: only the process whose rename succeeds may retry
    const grave = `${file}.stale-${process.pid}-${Date.now()}`;
    try {
      renameSync(file, grave);
    } catch {
      return false;
    }
    rmSync(grave, { force: true });
    return tryLock(file);
  }
}

export async function withLock<T>(
  file: string,
  fn: () => Promise<T>,
  onWait?: () => void,
  pollMs = 500,
): Promise<T> {
  let warned = false;
  while (!tryLock(file)) {
    if (!warned) onWait?.();
    warned = true;
    await sleep(pollMs);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
