import path from 'node:path';
import { bootImage } from '../boot/index.ts';
import { displayMode, openDisplay } from '../display/index.ts';
import { BuildReporter } from '../reporter.ts';
import { processRunner } from '../run/runner.ts';

/** `ib-native boot`: boot an image in QEMU until login: (or attach its console); returns the exit code. */
export async function bootCommand(o: {
  image: string;
  /** Default bios; uefi with secureBoot. */
  firmware?: 'bios' | 'uefi';
  secureBoot?: boolean;
  timeoutSec: number;
  seedDir?: string;
  expect: string[];
  consoleLog?: string;
  memoryMiB: number;
  verbose: boolean;
  /** Attach the serial console to this terminal instead of waiting for login:. */
  console?: boolean;
}): Promise<number> {
  // the serial console owns the terminal: no live display redrawing over it
  const isTTY = Boolean(process.stderr.isTTY) && !o.console;
  const display = openDisplay(displayMode({ isTTY, env: process.env }), { verbose: o.verbose });
  const logger = new BuildReporter({
    profile: path.basename(o.image),
    sink: display.sink,
    verbose: o.verbose,
  });
  const runner = processRunner({ logger });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (o.console) {
      const { attachConsole } = await import('../boot/attach.ts');
      const end = await attachConsole(runner, { ...o, logger, signal: controller.signal });
      process.stdout.write(
        end.how === 'detached'
          ? '\r\n*** detached: QEMU stopped, throw-away files removed\n'
          : '\r\n*** the guest powered off; QEMU exited\n',
      );
      return 0;
    }
    const r = await logger.timed('boot', () =>
      bootImage(runner, {
        ...o,
        logger,
        signal: controller.signal,
        onWait: (seconds, timeout) =>
          logger.progress({
            step: 'waiting for login:',
            fraction: Math.min(1, seconds / timeout),
            done: seconds,
            total: timeout,
            unit: 's',
          }),
      }),
    );
    display.close();
    process.stdout.write(`login: reached in ${r.seconds.toFixed(1)} s\n`);
    return 0;
  } finally {
    display.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
