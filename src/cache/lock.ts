import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

/**
 * Per-entry lock files: `O_EXCL` create holding our pid. A lock whose pid is dead is stale
 * and taken over. Waiting builds poll, so two builds sharing an entry wait only for each other.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
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
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      return false;
    }
    if (Number.isFinite(owner) && owner > 0 && !alive(owner)) {
      rmSync(file, { force: true });
      return tryLock(file);
    }
    return false;
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
