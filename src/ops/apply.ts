import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InternalError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Context } from '../profile/schema.ts';
import type { Runner } from '../run/runner.ts';
import type { ChrootSession } from '../sys/chroot-api.ts';
import { sha256File } from '../sys/files.ts';
import { ImagePath } from '../sys/in-root.ts';
import { appliesTo, type Op } from './types.ts';

/** Kept here for its users: resolution lives in src/sys/in-root.ts. */
export { resolveInRoot } from '../sys/in-root.ts';

function parseMode(mode: string | undefined): number | undefined {
  return mode === undefined ? undefined : Number.parseInt(mode, 8);
}

export interface ApplyContext {
  chroot: ChrootSession;
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

/** Owner and group, set inside the image on the resolved path (never through a link at its end). */
async function chown(ctx: ApplyContext, at: ImagePath, owner?: string, group?: string, recursive = false) {
  if (!owner && !group) return;
  const spec = `${owner ?? ''}${group ? `:${group}` : ''}`;
  await ctx.chroot.run(['chown', ...(recursive ? ['-R'] : []), '--no-dereference', spec, '--', at.image], {
    context: `setting owner of ${at.requested}`,
  });
}

async function applyOne(op: Op, root: string, ctx: ApplyContext): Promise<void> {
  const at = (p: string) => new ImagePath(root, p);
  switch (op.kind) {
    case 'writeFile': {
      const dest = at(op.path);
      dest.write(op.content, parseMode(op.mode) ?? 0o644);
      await chown(ctx, dest, op.owner, op.group);
      return;
    }
    case 'mkdir': {
      const dest = at(op.path).mkdir(parseMode(op.mode));
      await chown(ctx, dest, op.owner, op.group);
      return;
    }
    case 'symlink': {
      const dest = at(op.path);
      dest.parents();
      rmSync(dest.host, { force: true, recursive: false });
      symlinkSync(op.target, dest.host);
      return;
    }
    case 'remove':
      at(op.path).remove();
      return;
    case 'chmod': {
      const dest = at(op.path);
      if (!dest.stat())
        throw new UserError(
          `[${op.module}] ${op.path} does not exist in the image`,
          'filePermissions only changes existing files; create it with files/directories',
        );
      if (op.mode) dest.chmod(parseMode(op.mode)!);
      await chown(ctx, dest, op.owner, op.group);
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
      const dest = at(op.path);
      dest.parents();
      dest.remove();
      await ctx.runner.run([
        'cp',
        '-a',
        '--no-preserve=ownership',
        '--no-target-directory',
        '--',
        op.source,
        dest.host,
      ]);
      if (op.mode) dest.chmod(parseMode(op.mode)!);
      return;
    }
    case 'fetch': {
      const dest = at(op.path);
      // a private folder per download: no name another process can guess, race or share
      const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-fetch-'));
      const tmp = path.join(dir, 'download');
      try {
        await ctx.download(op.url, tmp);
        const sum = await sha256File(tmp);
        if (sum !== op.sha256)
          throw new UserError(
            `[${op.module}] ${op.url} has sha256 ${sum}, expected ${op.sha256}`,
            'update the sha256 in the profile if the file legitimately changed',
          );
        dest.copyFrom(tmp, 0o644);
      } finally {
        rmSync(dir, { force: true, recursive: true });
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
