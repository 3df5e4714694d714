import { CommandError, InterruptedError, UserError } from '../errors.ts';
import { type Runner, tail } from '../run/runner.ts';
import { DETACH_KEY, processTerminal, relayKeys, type UserTerminal } from '../tty/terminal.ts';
import { abortReason, type BootOptions, withQemu } from './boot.ts';

/**
 * `ib-native boot --console`: the same boot as `ib-native boot` (throw-away overlay, seed, UEFI
 * variables), with the guest's serial console on the user's terminal instead of a watcher. The user
 * types into the guest; the detach key (Ctrl-], as in telnet) stops QEMU and cleans up.
 */

export interface AttachOptions extends Omit<BootOptions, 'expect' | 'timeoutSec'> {
  terminal?: UserTerminal;
}

/** How the session ended: the user detached, or the guest powered off (QEMU exited with 0). */
export type AttachEnd = { how: 'detached' } | { how: 'powered-off' };

export function attachBanner(image: string, accel: 'kvm' | 'tcg'): string {
  return (
    `*** serial console of ${image}${accel === 'tcg' ? ' (TCG emulation: no KVM, booting is slow)' : ''}\r\n` +
    `*** press ${DETACH_KEY.name} to detach: QEMU is stopped and its throw-away files removed\r\n`
  );
}

export async function attachConsole(runner: Runner, opts: AttachOptions): Promise<AttachEnd> {
  const term = opts.terminal ?? processTerminal();
  if (!term.input.isTTY)
    throw new UserError(
      'boot --console needs a terminal: standard input is not one',
      'run it from an interactive terminal (over ssh: ssh -t), or boot without --console to wait for login:',
    );
  const announce = () => opts.logger.info(`booting ${opts.image} with its serial console on this terminal`);
  return withQemu(runner, opts, { announce, interactive: true }, async (q) => {
    term.output.write(attachBanner(q.image, q.accel));
    const input = q.qemu.stdin;
    if (!input) throw new UserError('QEMU was started without a console input');
    const onOutput = (d: Buffer) => term.output.write(d);
    q.qemu.stdout.on('data', onOutput);
    let stop = () => {};
    try {
      const end = await new Promise<AttachEnd | { how: 'exited'; exitCode?: number; signal?: string }>(
        (resolve, reject) => {
          stop = relayKeys(term, (b) => input.write(b), {
            detachKey: DETACH_KEY.byte,
            onDetach: () => resolve({ how: 'detached' }),
          });
          q.qemu.exited.then((e) =>
            resolve(e.exitCode === 0 && !e.signal ? { how: 'powered-off' } : { how: 'exited', ...e }),
          );
          const onAbort = () => reject(new InterruptedError(abortReason(opts.signal?.reason)));
          if (opts.signal?.aborted) onAbort();
          else opts.signal?.addEventListener('abort', onAbort, { once: true });
        },
      );
      if (end.how === 'exited')
        throw new CommandError(q.argv, end.exitCode, tail(q.stderr(), 10), end.signal, 'QEMU stopped');
      return end;
    } finally {
      stop();
      q.qemu.stdout.off('data', onOutput);
    }
  });
}
