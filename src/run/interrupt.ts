import type { Logger } from '../log.ts';
import { processRunner, type Runner } from './runner.ts';

/**
 * A runner for a root session (build, shell) that stops on SIGINT, SIGTERM or SIGHUP: the signal
 * is remembered, running commands are killed, and new ones are refused, so the session unwinds
 * through its cleanup. `release()` removes the signal handlers.
 */
export function interruptibleRunner(logger: Logger): {
  runner: Runner;
  interrupted: () => string | undefined;
  release: () => void;
} {
  let interrupted: string | undefined;
  const runner = processRunner({ logger, isInterrupted: () => interrupted });
  const onSignal = (sig: NodeJS.Signals) => {
    if (!interrupted) logger.warn(`${sig} received: stopping and cleaning up`);
    interrupted = sig;
    runner.killAll('SIGTERM');
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  return {
    runner,
    interrupted: () => interrupted,
    release: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
