import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** Whether a process with this pid exists (one we may not signal, EPERM, counts as existing). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Processes whose root directory is `root` or a folder in it (left running by a chroot session), from /proc. */
export function processesRootedAt(root: string, proc = '/proc'): number[] {
  const want = path.resolve(root);
  const out: number[] = [];
  for (const name of readdirSync(proc)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const r = readlinkSync(path.join(proc, name, 'root'));
      if (r === want || r.startsWith(`${want}/`)) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/**
 * Kill (SIGKILL) every process rooted in `root` and wait until they are gone (a daemon a
 * postinst started, gpg-agent, dirmngr): they would keep the tree busy and outlive the session.
 * Returns how many were found.
 */
export async function stopProcessesRootedAt(
  root: string,
  o: { proc?: string; timeoutMs?: number; kill?: (pid: number) => void } = {},
): Promise<number> {
  const proc = o.proc ?? '/proc';
  const kill =
    o.kill ??
    ((pid: number) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    });
  const deadline = Date.now() + (o.timeoutMs ?? 5000);
  const seen = new Set<number>();
  for (;;) {
    const left = processesRootedAt(root, proc);
    if (left.length === 0 || Date.now() > deadline) return seen.size;
    for (const pid of left) {
      seen.add(pid);
      kill(pid);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
