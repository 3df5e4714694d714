import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { pidAlive } from '../sys/pid.ts';

/**
 * Shared "in use" leases on cache entries. A build that uses an entry (a rootfs as an overlay
 * lower folder, a squashfs or base disk as a copy source) holds a lease on it until it is done
 * with it: a file in the entry's lease folder named after the holder (pid and the process's
 * start time, so a reused pid is not mistaken for the holder). Any number of holders share an
 * entry; a lease whose process is gone is dead and ignored (a killed build holds nothing).
 * Leases are taken and checked under the entry's lock (`lock.ts`), so `cache prune` either sees
 * a lease or removes the entry before any build can take one.
 */

export interface Lease {
  readonly file: string;
  release(): void;
}

export interface LeaseHolder {
  pid: number;
  by: string;
}

let seq = 0;

/** The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or '' when unreadable. */
export function processStart(pid: number, proc = '/proc'): string {
  try {
    const stat = readFileSync(path.join(proc, String(pid), 'stat'), 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** Take a lease in `dir` (created when missing) for this process; `by` says who holds it. */
export function takeLease(dir: string, by: string): Lease {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}.${processStart(process.pid) || '0'}.${++seq}`);
  const fd = openSync(file, 'wx', 0o644);
  try {
    writeSync(fd, by);
  } finally {
    closeSync(fd);
  }
  return { file, release: () => rmSync(file, { force: true }) };
}

/** Whether the process a lease file names still runs (the same process: same pid and start time). */
export function leaseAlive(name: string, proc = '/proc'): boolean {
  const m = /^(\d+)\.(\d+)\.\d+$/.exec(name);
  if (!m) return false;
  const pid = Number(m[1]);
  if (!pidAlive(pid)) return false;
  const start = processStart(pid, proc);
  // a start time we cannot read keeps the lease: better to keep an entry than delete it in use
  return m[2] === '0' || start === '' || start === m[2];
}

/** The live leases in `dir` (none when it does not exist); dead ones are removed on the way. */
export function liveLeases(dir: string, proc = '/proc'): (LeaseHolder & { file: string })[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: (LeaseHolder & { file: string })[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    if (!leaseAlive(name, proc)) {
      rmSync(file, { force: true });
      continue;
    }
    let by = '';
    try {
      by = readFileSync(file, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    out.push({ file, pid: Number(name.split('.')[0]), by });
  }
  return out;
}
