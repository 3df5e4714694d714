import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../profile/load.ts';
import type { Runner, RunOptions } from '../run/runner.ts';
import { isSymlink } from '../sys/files.ts';
import { MountScope } from '../sys/mounts.ts';

/** Where chroot-scripts/ appears inside the image while the build runs. */
export const SCRIPTS_IN_IMAGE = '/run/ib-native/scripts';
const POLICY_RC_D = 'usr/sbin/policy-rc.d';
const RESOLV = 'etc/resolv.conf';
const RESOLV_ASIDE = 'etc/.resolv.conf.ib-native-aside';

export interface ChrootOptions {
  /** Host folder bind-mounted over /var/cache/apt/archives (shared package cache). */
  packageCache?: string;
  env?: Record<string, string>;
}

/**
 * A chroot session: /proc, /sys, /dev, /dev/pts, a tmpfs /run carrying our scripts, the
 * host's resolv.conf and a policy-rc.d that blocks service starts — all only for the
 * session, all undone at the end (mounts in reverse order, files restored).
 */
export class Chroot {
  private readonly mounts: MountScope;
  private constructor(
    readonly root: string,
    private readonly runner: Runner,
    private readonly opts: ChrootOptions,
  ) {
    this.mounts = new MountScope(runner);
  }

  static async open(root: string, runner: Runner, opts: ChrootOptions = {}): Promise<Chroot> {
    const c = new Chroot(root, runner, opts);
    try {
      await c.setup();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  private p(rel: string): string {
    return path.join(this.root, rel);
  }

  private async setup(): Promise<void> {
    const m = this.mounts;
    for (const d of ['proc', 'sys', 'dev', 'run']) mkdirSync(this.p(d), { recursive: true });
    await m.mount(['-t', 'proc', 'proc'], this.p('proc'));
    await m.mount(['-t', 'sysfs', '-o', 'ro', 'sysfs'], this.p('sys'));
    await m
      .mount(['-t', 'devtmpfs', 'devtmpfs'], this.p('dev'))
      .catch(async () => m.bind('/dev', this.p('dev'), { recursive: true }));
    mkdirSync(this.p('dev/pts'), { recursive: true });
    await m.mount(['-t', 'devpts', '-o', 'newinstance,ptmxmode=0666', 'devpts'], this.p('dev/pts'));
    await m.mount(['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs'], this.p('run'));
    mkdirSync(this.p(SCRIPTS_IN_IMAGE), { recursive: true });
    await m.bind(path.join(REPO_ROOT, 'chroot-scripts'), this.p(SCRIPTS_IN_IMAGE), { readonly: true });
    if (this.opts.packageCache) {
      mkdirSync(this.p('var/cache/apt/archives'), { recursive: true });
      mkdirSync(path.join(this.opts.packageCache, 'partial'), { recursive: true });
      await m.bind(this.opts.packageCache, this.p('var/cache/apt/archives'));
    }
    // resolv.conf: move the image's own (file or symlink) aside, put the host's in.
    if (existsOrLink(this.p(RESOLV))) renameSync(this.p(RESOLV), this.p(RESOLV_ASIDE));
    writeFileSync(this.p(RESOLV), existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf') : '');
    mkdirSync(path.dirname(this.p(POLICY_RC_D)), { recursive: true });
    writeFileSync(
      this.p(POLICY_RC_D),
      '#!/bin/sh\n# ib-native: no service starts during the build\nexit 101\n',
      { mode: 0o755 },
    );
  }

  run(argv: string[], opts: RunOptions = {}) {
    return this.runner.run(['chroot', this.root, ...argv], {
      ...opts,
      env: { ...this.opts.env, ...opts.env },
    });
  }

  async close(): Promise<void> {
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
