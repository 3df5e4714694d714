import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { REPO_ROOT } from '../package.ts';
import type { Runner, RunOptions } from '../run/runner.ts';
import { type ChrootSession, SCRIPTS_IN_IMAGE } from '../sys/chroot-api.ts';
import { isSymlink } from '../sys/files.ts';
import { ImagePath, resolveInRoot } from '../sys/in-root.ts';
import { MountScope } from '../sys/mounts.ts';
import { stopProcessesRootedAt } from '../sys/pid.ts';

const POLICY_RC_D = 'usr/sbin/policy-rc.d';
const RESOLV = 'etc/resolv.conf';
const RESOLV_ASIDE = 'etc/.resolv.conf.ib-native-aside';

export interface ChrootOptions {
  /** Host folder bind-mounted over /var/cache/apt/archives (shared package cache). */
  packageCache?: string;
  env?: Record<string, string>;
  /** Where the session says what it cleaned up (processes left running). */
  logger?: Logger;
}

/** Character devices of the session's own /dev (name, major, minor), as mmdebstrap makes them. */
export const DEV_NODES: readonly (readonly [string, number, number])[] = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];

/** Links of the session's /dev (name, target). */
export const DEV_LINKS: readonly (readonly [string, string])[] = [
  ['ptmx', 'pts/ptmx'],
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/**
 * A folder of the image that a session mounts over: it must be a real folder of the image (a
 * link there would put the mount wherever it points on the host). Made when missing. Returns its host path.
 */
export function mountPointIn(root: string, rel: string): string {
  const at = path.join(root, rel);
  const resolved = resolveInRoot(root, `/${rel}`, { follow: true });
  const st = lstatOrUndefined(at);
  if (resolved !== at || (st && !st.isDirectory()))
    throw new UserError(
      `the image's /${rel} is not a folder (${st?.isSymbolicLink() ? 'a symbolic link' : 'a file'}, or under one)`,
      `a build session mounts its own /${rel}; the image must have it as a plain folder`,
    );
  mkdirSync(at, { recursive: true });
  return at;
}

/**
 * A chroot session: /proc, /sys, its own /dev (a tmpfs with the few device nodes a package install
 * needs, never the host's), /dev/pts (a new instance), a tmpfs /run carrying our scripts, the
 * host's resolv.conf and a policy-rc.d that blocks service starts — all only for the session, all
 * undone at the end (processes left in the tree killed, mounts in reverse order, files restored).
 */
export class Chroot implements ChrootSession {
  private readonly mounts: MountScope;
  private constructor(
    readonly root: string,
    private readonly runner: Runner,
    private readonly opts: ChrootOptions,
  ) {
    this.mounts = new MountScope(runner);
  }

  static async open(root: string, runner: Runner, opts: ChrootOptions = {}): Promise<Chroot> {
    const c = new Chroot(realpathSync(root), runner, opts);
    try {
      await c.setup();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  private p(rel: string): string {
    return new ImagePath(this.root, `/${rel}`).host;
  }

  private async setup(): Promise<void> {
    const m = this.mounts;
    const at = (rel: string) => mountPointIn(this.root, rel);
    await m.mount(['-t', 'proc', 'proc'], at('proc'));
    await m.mount(['-t', 'sysfs', '-o', 'ro', 'sysfs'], at('sys'));
    await this.mountDev(at('dev'));
    await m.mount(['-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'tmpfs'], at('run'));
    const scripts = path.join(this.root, SCRIPTS_IN_IMAGE);
    mkdirSync(scripts, { recursive: true });
    await m.bind(path.join(REPO_ROOT, 'chroot-scripts'), scripts, { readonly: true });
    if (this.opts.packageCache) {
      const archives = at('var/cache/apt/archives');
      mkdirSync(path.join(this.opts.packageCache, 'partial'), { recursive: true });
      await m.bind(this.opts.packageCache, archives);
    }
    // resolv.conf: move the image's own (file or symlink) aside, put the host's in.
    if (existsOrLink(this.p(RESOLV))) renameSync(this.p(RESOLV), this.p(RESOLV_ASIDE));
    new ImagePath(this.root, `/${RESOLV}`).write(
      existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf') : '',
      0o644,
    );
    new ImagePath(this.root, `/${POLICY_RC_D}`).write(
      '#!/bin/sh\n# ib-native: no service starts during the build\nexit 101\n',
      0o755,
    );
  }

  /** The session's /dev: a fresh tmpfs with DEV_NODES, DEV_LINKS, /dev/shm and a new devpts instance. */
  private async mountDev(dev: string): Promise<void> {
    await this.mounts.mount(['-t', 'tmpfs', '-o', 'mode=0755,nosuid', 'tmpfs'], dev);
    for (const [name, major, minor] of DEV_NODES)
      await this.runner.run(
        ['mknod', '-m', '0666', path.join(dev, name), 'c', String(major), String(minor)],
        {
          context: `making /dev/${name} of the session`,
        },
      );
    for (const [name, target] of DEV_LINKS) symlinkSync(target, path.join(dev, name));
    mkdirSync(path.join(dev, 'shm'));
    chmodSync(path.join(dev, 'shm'), 0o1777);
    mkdirSync(path.join(dev, 'pts'));
    await this.mounts.mount(
      ['-t', 'devpts', '-o', 'newinstance,ptmxmode=0666,mode=0620,gid=5', 'devpts'],
      path.join(dev, 'pts'),
    );
  }

  /**
   * Make the shared package cache read-only inside the chroot: once apt has downloaded (and
   * verified) what it needs, the maintainer scripts that run next cannot plant or change a .deb
   * that a later build would reuse. apt installs from a read-only archives folder (it skips its
   * lock there with a warning).
   */
  async sealPackageCache(): Promise<void> {
    if (!this.opts.packageCache) return;
    await this.runner.run([
      'mount',
      '-o',
      'remount,bind,ro',
      mountPointIn(this.root, 'var/cache/apt/archives'),
    ]);
  }

  run(argv: string[], opts: RunOptions = {}) {
    return this.runner.run(['chroot', this.root, ...argv], {
      ...opts,
      env: { ...this.opts.env, ...opts.env },
    });
  }

  async close(): Promise<void> {
    const left = await stopProcessesRootedAt(this.root);
    if (left) this.opts.logger?.info(`chroot: stopped ${left} process(es) left running in the tree`);
    rmSync(this.p(POLICY_RC_D), { force: true });
    const aside = existsOrLink(this.p(RESOLV_ASIDE));
    if (isSymlink(this.p(RESOLV))) {
      // the session wrote the host's as a regular file; a link there now was made by a package
      // (systemd-resolved, resolvconf): that is the image's resolver configuration, keep it
      if (aside) rmSync(this.p(RESOLV_ASIDE), { force: true });
    } else {
      rmSync(this.p(RESOLV), { force: true });
      if (aside) renameSync(this.p(RESOLV_ASIDE), this.p(RESOLV));
    }
    await this.mounts.close();
  }
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function existsOrLink(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export async function withChroot<T>(
  root: string,
  runner: Runner,
  opts: ChrootOptions,
  fn: (c: Chroot) => Promise<T>,
): Promise<T> {
  const c = await Chroot.open(root, runner, opts);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}
