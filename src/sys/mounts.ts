import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { InternalError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';

/** One line of /proc/self/mountinfo: the mount's id and where it is (octal escapes decoded). */
export interface MountEntry {
  id: number;
  point: string;
}

/** A mount a scope made: its id, or none when the table did not show it (an injected runner). */
interface Made {
  id?: number;
  point: string;
}

/** Parse mountinfo text. Pure. */
export function parseMountInfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      return {
        id: Number(f[0]),
        point: f[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
      };
    });
}

/** Reads this process's mount table (injectable for tests). */
export type MountInfoReader = () => MountEntry[];

export const selfMountInfo: MountInfoReader = () =>
  parseMountInfo(existsSync('/proc/self/mountinfo') ? readFileSync('/proc/self/mountinfo', 'utf8') : '');

/**
 * The path the kernel names a folder by (mountinfo never shows links): links resolved in the
 * part that exists, the rest appended as given. Every path compared with mountinfo goes through it.
 */
export function realPath(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...rest);
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

/**
 * Scoped mounts. Everything is mounted inside ib-native's private mount namespace (see
 * ./namespace.ts), so even a SIGKILL cannot leave a mount on the host; within the build we
 * still undo every mount in reverse order when its scope ends, whatever happens inside.
 * Targets are resolved to real paths before mounting, and each mount is recorded by its id in
 * mountinfo: what is unmounted is what was mounted, whatever links lead to it.
 */
export class MountScope {
  private readonly stack: Made[] = [];
  constructor(
    private readonly runner: Runner,
    private readonly info: MountInfoReader = selfMountInfo,
  ) {}

  async mount(argv: string[], target: string): Promise<void> {
    const point = realPath(target);
    const before = new Set(this.info().map((e) => e.id));
    await this.runner.run(['mount', ...argv, point], { context: `mounting ${point}` });
    // the new mount at that point (the top one, should the same point carry several)
    const made = this.info()
      .filter((e) => e.point === point && !before.has(e.id))
      .at(-1);
    this.stack.push(made ?? { point });
  }

  async bind(
    source: string,
    target: string,
    opts: { readonly?: boolean; recursive?: boolean } = {},
  ): Promise<void> {
    await this.mount([opts.recursive ? '--rbind' : '--bind', realPath(source)], target);
    const point = this.stack.at(-1)!.point;
    if (opts.recursive) await this.runner.run(['mount', '--make-rslave', point]);
    if (opts.readonly) await this.runner.run(['mount', '-o', 'remount,bind,ro', point]);
  }

  /** An overlayfs at `target`: `lower` folders (top first), changes in `upper` (`work`: overlayfs's own). */
  async overlay(lower: readonly string[], upper: string, work: string, target: string): Promise<void> {
    await this.mount(
      ['-t', 'overlay', '-o', `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}`, 'overlay'],
      target,
    );
  }

  /** Unmount everything this scope mounted, newest first. Never throws on an already-gone mount. */
  async close(): Promise<void> {
    const errors: string[] = [];
    while (this.stack.length) {
      const m = this.stack.pop()!;
      const table = this.info();
      const present =
        m.id === undefined ? table.some((e) => e.point === m.point) : table.some((e) => e.id === m.id);
      if (!present) continue;
      try {
        await this.runner.run(['umount', '--recursive', m.point], { critical: true });
      } catch {
        try {
          await this.runner.run(['umount', '--recursive', '--lazy', m.point], { critical: true });
        } catch (e) {
          errors.push(`${m.point}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
    if (errors.length) throw new InternalError(`could not unmount: ${errors.join('; ')}`);
  }
}

export async function withMounts<T>(runner: Runner, fn: (m: MountScope) => Promise<T>): Promise<T> {
  const scope = new MountScope(runner);
  try {
    return await fn(scope);
  } finally {
    await scope.close();
  }
}

/** Mount points of this process's namespace, from /proc/self/mountinfo (octal escapes decoded). */
export function mountPoints(info: MountInfoReader = selfMountInfo): string[] {
  return info().map((e) => e.point);
}

export function isMountPoint(p: string, info: MountInfoReader = selfMountInfo): boolean {
  return mountPoints(info).includes(realPath(p));
}

/** Mounts at or below a folder (reached through links or not). */
export function mountsUnder(dir: string, info: MountInfoReader = selfMountInfo): string[] {
  const d = realPath(dir);
  return mountPoints(info).filter((m) => m === d || m.startsWith(`${d}/`));
}
