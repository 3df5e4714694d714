import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.ts';
import type { Runner } from '../run/runner.ts';
import { type Chroot, withChroot } from '../stages/chroot.ts';
import { stopProcessesRootedAt } from '../sys/pid.ts';
import { runInPty } from '../tty/pty.ts';
import { processTerminal, type UserTerminal } from '../tty/terminal.ts';

/**
 * `ib-native shell`: an interactive shell in a profile's configured tree, mounted as a build
 * mounts it; and the shell that `build --debug-shell` opens where a build failed. The shell is
 * `chroot <tree> bash --login` in a pseudo-terminal; everything it changes is discarded.
 */

const PATH_IN_IMAGE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The command line of the shell: bash as a login shell when the tree has it, else sh. Pure. */
export function shellArgv(
  tree: string,
  o: { hasBash: boolean; pdeathsig: boolean } = { hasBash: true, pdeathsig: true },
): string[] {
  const shell = o.hasBash ? ['/bin/bash', '--login'] : ['/bin/sh', '-l'];
  return [...(o.pdeathsig ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []), 'chroot', tree, ...shell];
}

/**
 * The shell's whole environment: nothing of ib-native's own leaks in but the terminal type and the
 * proxy settings. `debian_chroot` is what Debian's and Ubuntu's bash prompt shows in parentheses.
 */
export function shellEnv(o: {
  label: string;
  term?: string;
  netEnv?: Record<string, string>;
}): Record<string, string> {
  return {
    ...o.netEnv,
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    PATH: PATH_IN_IMAGE,
    LANG: 'C.UTF-8',
    TERM: o.term || 'xterm',
    debian_chroot: o.label,
  };
}

export interface ShellBannerInput {
  /** What this shell is. */
  lines: string[];
  /** What happens when it exits. */
  after: string;
}

/** The lines printed before the shell starts. Pure. */
export function shellBanner(b: ShellBannerInput): string {
  return [
    '',
    ...b.lines.map((l) => `*** ${l}`),
    '*** /proc, /sys, /dev and the host resolv.conf are mounted; services cannot start (policy-rc.d).',
    `*** Changes made in this shell are discarded. ${b.after}`,
    '',
  ].join('\r\n');
}

export interface OpenShellOptions {
  tree: string;
  /** The chroot session already open on `tree`; one is opened for the shell otherwise. */
  chroot?: Chroot;
  runner: Runner;
  logger: Logger;
  /** Shown in the prompt: `(label)root@host:/#`. */
  label: string;
  banner: ShellBannerInput;
  netEnv?: Record<string, string>;
  terminal?: UserTerminal;
}

/**
 * Runs the interactive shell in `tree` and returns its exit status. Processes it leaves running in
 * the tree are killed when it exits, so that nothing keeps the tree's mounts busy.
 */
export async function openShell(o: OpenShellOptions): Promise<number> {
  if (!o.chroot)
    return withChroot(o.tree, o.runner, { env: o.netEnv }, (chroot) => openShell({ ...o, chroot }));
  const term = o.terminal ?? processTerminal();
  const argv = shellArgv(o.tree, {
    hasBash: existsSync(path.join(o.tree, 'bin/bash')),
    pdeathsig: existsSync('/usr/bin/setpriv'),
  });
  term.output.write(`${shellBanner(o.banner)}\r\n`);
  try {
    return await runInPty(
      { argv, env: shellEnv({ label: o.label, term: process.env.TERM, netEnv: o.netEnv }) },
      term,
      o.logger,
    );
  } finally {
    const left = await stopProcessesRootedAt(o.tree);
    if (left) o.logger.info(`shell: stopped ${left} process(es) left running in the tree`);
  }
}
