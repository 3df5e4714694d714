import type { FailureContext, FailureHook } from '../stages/configure.ts';
import { processTerminal, type UserTerminal } from '../tty/terminal.ts';
import { openShell } from './shell.ts';

/**
 * `build --debug-shell`: when a build fails in its configure or image stages, a shell opens in the
 * tree being built, before anything is unmounted; when it exits, the build cleans up and fails as
 * it would have. The build only knows BuildOptions.onFailure; this file is that hook.
 */

export type DebugShellDecision = { open: true } | { open: false; warning?: string };

/** Whether to open the shell for a failure. Pure. */
export function decideDebugShell(s: { stdinIsTTY: boolean; interrupted?: string }): DebugShellDecision {
  // an interruption is not a failure to debug: the user asked to stop
  if (s.interrupted) return { open: false };
  if (!s.stdinIsTTY)
    return {
      open: false,
      warning: '--debug-shell: standard input is not a terminal, so no shell is opened at the failure',
    };
  return { open: true };
}

/** The first line of an error's message, for the banner (the whole error is reported after). */
export function failureSummary(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((l) => l.trim()) ?? '(no message)';
}

export interface DebugShellDeps {
  netEnv?: Record<string, string>;
  /** The signal that interrupted the build, if any. */
  interrupted: () => string | undefined;
  terminal?: UserTerminal;
  /** Called right before the shell takes the terminal (e.g. to stop a live progress display). */
  beforeOpen?: () => void;
}

export function debugShellHook(deps: DebugShellDeps): FailureHook {
  return async (ctx: FailureContext) => {
    const terminal = deps.terminal ?? processTerminal();
    const decision = decideDebugShell({
      stdinIsTTY: Boolean(terminal.input.isTTY),
      interrupted: deps.interrupted(),
    });
    if (!decision.open) {
      if (decision.warning) ctx.logger.warn(decision.warning);
      return;
    }
    ctx.logger.info(`--debug-shell: the ${ctx.stage} stage failed; opening a shell in ${ctx.tree}`);
    deps.beforeOpen?.();
    const status = await openShell({
      tree: ctx.tree,
      ...(ctx.chroot ? { chroot: ctx.chroot } : {}),
      runner: ctx.runner,
      logger: ctx.logger,
      netEnv: deps.netEnv,
      label: `ib-native:${ctx.stage}-failed`,
      banner: {
        lines: [
          `ib-native --debug-shell: the ${ctx.stage} stage failed: ${failureSummary(ctx.error)}`,
          'You are in the tree being built, as the failure left it, with its mounts in place.',
        ],
        after: 'When you leave (`exit` or Ctrl-D) the build cleans up and exits with its failure code.',
      },
      terminal,
    });
    ctx.logger.info(`--debug-shell: the shell exited with status ${status}; cleaning up`);
  };
}
