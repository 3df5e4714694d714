import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InternalError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';

/**
 * Scoped mounts. Everything is mounted inside ib-native's private mount namespace (see
 * ./namespace.ts), so even a SIGKILL cannot leave a mount on the host; within the build we
 * still undo every mount in reverse order when its scope ends, whatever happens inside.
 */
export class MountScope {
  private readonly stack: string[] = [];
  constructor(private readonly runner: Runner) {}

  async mount(argv: string[], target: string): Promise<void> {
    await this.runner.run(['mount', ...argv, target], { context: `mounting ${target}` });
    this.stack.push(target);
  }

  async bind(
    source: string,
    target: string,
    opts: { readonly?: boolean; recursive?: boolean } = {},
  ): Promise<void> {
    await this.mount([opts.recursive ? '--rbind' : '--bind', source], target);
    if (opts.recursive) await this.runner.run(['mount', '--make-rslave', target]);
    if (opts.readonly) await this.runner.run(['mount', '-o', 'remount,bind,ro', target]);
  }

  /** Unmount everything this scope mounted, newest first. Never throws on an already-gone mount. */
  async close(): Promise<void> {
    const errors: string[] = [];
    while (this.stack.length) {
      const target = this.stack.pop()!;
      if (!isMountPoint(target)) continue;
      try {
        await this.runner.run(['umount', '--recursive', target], { critical: true });
      } catch {
        try {
          await this.runner.run(['umount', '--recursive', '--lazy', target], { critical: true });
        } catch (e) {
          errors.push(`${target}: ${(e as Error).message.split('\n')[0]}`);
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
export function mountPoints(): string[] {
  const text = existsSync('/proc/self/mountinfo') ? readFileSync('/proc/self/mountinfo', 'utf8') : '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      l
        .split(' ')[4]!
        .replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
    );
}

export function isMountPoint(p: string): boolean {
  return mountPoints().includes(path.resolve(p));
}

/** Mounts at or below a folder. */
export function mountsUnder(dir: string): string[] {
  const d = path.resolve(dir);
  return mountPoints().filter((m) => m === d || m.startsWith(`${d}/`));
}
