import { chmodSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InternalError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Context } from '../profile/schema.ts';
import type { Runner } from '../run/runner.ts';
import type { Chroot } from '../stages/chroot.ts';
import { sha256File } from '../sys/files.ts';
import { appliesTo, type Op } from './types.ts';

/**
 * Resolve an absolute in-image path to a host path under `root`, following symlinks the way
 * the image would (absolute link targets stay inside the root), so a write can never escape.
 * The last component is not followed.
 */
export function resolveInRoot(
  root: string,
  imagePath: string,
  lstat = lstatSync,
  readlink = readlinkSync,
): string {
  const parts = imagePath.split('/').filter(Boolean);
  // a trailing "." or ".." is resolved like the others (as a last name it would step out of the root)
  const last = parts[parts.length - 1] === '.' || parts[parts.length - 1] === '..' ? undefined : parts.pop();
  let cur: string[] = [];
  let hops = 0;
  const queue = [...parts];
  while (queue.length) {
    const part = queue.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      cur.pop();
      continue;
    }
    const host = path.join(root, ...cur, part);
    let isLink = false;
    try {
      isLink = lstat(host).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (!isLink) {
      cur.push(part);
      continue;
    }
    if (++hops > 40) throw new UserError(`too many symbolic links resolving ${imagePath} in the image`);
    const target = String(readlink(host));
    if (target.startsWith('/')) cur = [];
    queue.unshift(...target.split('/').filter(Boolean));
  }
  return last === undefined ? path.join(root, ...cur) : path.join(root, ...cur, last);
}

function parseMode(mode: string | undefined): number | undefined {
  return mode === undefined ? undefined : Number.parseInt(mode, 8);
}

export interface ApplyContext {
  chroot: Chroot;
  logger: Logger;
  /** Runs host-side commands (copies). */
  runner: Runner;
  /** Downloads a URL to a host file (proxy-aware). */
  download: (url: string, dest: string) => Promise<void>;
}

/** The one place that performs operations on a root filesystem. */
export async function applyOps(all: readonly Op[], context: Context, ctx: ApplyContext): Promise<number> {
  const root = ctx.chroot.root;
  const list = all.filter((op) => appliesTo(op, context));
  for (const op of list) {
    ctx.logger.debug(`[${op.module}] ${describeOp(op)}`);
    await applyOne(op, root, ctx);
  }
  return list.length;
}

async function chown(
  ctx: ApplyContext,
  imagePath: string,
  owner?: string,
  group?: string,
  recursive = false,
) {
  if (!owner && !group) return;
  const spec = `${owner ?? ''}${group ? `:${group}` : ''}`;
  await ctx.chroot.run(['chown', ...(recursive ? ['-R'] : []), '--no-dereference', spec, imagePath], {
    context: `setting owner of ${imagePath}`,
  });
}

async function applyOne(op: Op, root: string, ctx: ApplyContext): Promise<void> {
  const host = (p: string) => resolveInRoot(root, p);
  switch (op.kind) {
    case 'writeFile': {
      const dest = host(op.path);
      mkdirSync(path.dirname(dest), { recursive: true });
      rmSync(dest, { force: true });
      writeFileSync(dest, op.content);
      chmodSync(dest, parseMode(op.mode) ?? 0o644);
      await chown(ctx, op.path, op.owner, op.group);
      return;
    }
    case 'mkdir': {
      const dest = host(op.path);
      mkdirSync(dest, { recursive: true });
      if (op.mode) chmodSync(dest, parseMode(op.mode)!);
      await chown(ctx, op.path, op.owner, op.group);
      return;
    }
    case 'symlink': {
      const dest = host(op.path);
      mkdirSync(path.dirname(dest), { recursive: true });
      rmSync(dest, { force: true, recursive: false });
      symlinkSync(op.target, dest);
      return;
    }
    case 'remove':
      rmSync(host(op.path), { force: true, recursive: true });
      return;
    case 'chmod': {
      const dest = host(op.path);
      try {
        lstatSync(dest);
      } catch {
        throw new UserError(
          `[${op.module}] ${op.path} does not exist in the image`,
          'filePermissions only changes existing files; create it with files/directories',
        );
      }
      if (op.mode) chmodSync(dest, parseMode(op.mode)!);
      await chown(ctx, op.path, op.owner, op.group);
      return;
    }
    case 'unit':
      await ctx.chroot.run(['systemctl', op.action, op.name], {
        context: `[${op.module}] systemctl ${op.action} ${op.name}`,
      });
      return;
    case 'run':
      await ctx.chroot.run(op.argv, {
        context: `[${op.module}] ${op.description}`,
        ...(op.stdin !== undefined ? { input: op.stdin } : {}),
      });
      return;
    case 'copyIn': {
      const dest = host(op.path);
      mkdirSync(path.dirname(dest), { recursive: true });
      rmSync(dest, { force: true, recursive: true });
      await ctx.runner.run(['cp', '-a', '--no-preserve=ownership', '--', op.source, dest]);
      if (op.mode) chmodSync(dest, parseMode(op.mode)!);
      return;
    }
    case 'fetch': {
      const dest = host(op.path);
      mkdirSync(path.dirname(dest), { recursive: true });
      const tmp = path.join(tmpdir(), `ib-native-fetch-${process.pid}-${path.basename(dest)}`);
      try {
        await ctx.download(op.url, tmp);
        const sum = await sha256File(tmp);
        if (sum !== op.sha256)
          throw new UserError(
            `[${op.module}] ${op.url} has sha256 ${sum}, expected ${op.sha256}`,
            'update the sha256 in the profile if the file legitimately changed',
          );
        await ctx.runner.run(['cp', '--', tmp, dest]);
        chmodSync(dest, 0o644);
      } finally {
        rmSync(tmp, { force: true });
      }
      return;
    }
    default:
      throw new InternalError(`unknown operation ${(op as { kind: string }).kind}`);
  }
}

export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'writeFile':
      return `write ${op.path} (${op.content.length} bytes${op.mode ? `, mode ${op.mode}` : ''})`;
    case 'mkdir':
      return `mkdir ${op.path}`;
    case 'symlink':
      return `link ${op.path} -> ${op.target}`;
    case 'remove':
      return `remove ${op.path}`;
    case 'chmod':
      return `chmod ${op.mode ?? ''} ${op.owner ?? ''}${op.group ? `:${op.group}` : ''} ${op.path}`.replace(
        /\s+/g,
        ' ',
      );
    case 'unit':
      return `systemctl ${op.action} ${op.name}`;
    case 'run':
      return `run in image: ${op.argv.join(' ')}${op.stdin !== undefined ? ` <(${op.stdin.length} bytes on stdin, not shown)` : ''} (${op.description})`;
    case 'copyIn':
      return `copy ${op.source} -> ${op.path}`;
    case 'fetch':
      return `fetch ${op.url} -> ${op.path} (sha256 ${op.sha256.slice(0, 12)}…)`;
  }
}
