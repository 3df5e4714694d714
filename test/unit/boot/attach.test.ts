import { readdirSync, rmSync } from 'node:fs';
import type { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AttachOptions, attachBanner, attachConsole } from '../../../src/boot/attach.ts';
import { CommandError, InterruptedError, UserError } from '../../../src/errors.ts';
import { recordingLogger } from '../../../src/log.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import { fakeTerminal, until } from '../tty/fake-terminal.ts';
import { fakeQemu, workspace } from './fake-qemu.ts';

type Script = Parameters<typeof fakeQemu>[0];

/** Runs attachConsole on a fake QEMU and a fake terminal; `check` sees the session, then all is removed. */
async function withSession(
  script: Script,
  check: (s: {
    session: Promise<unknown>;
    state: ReturnType<typeof fakeQemu>['state'];
    f: ReturnType<typeof fakeTerminal>;
    tmp: string;
    runner: ReturnType<typeof recordingRunner>;
  }) => Promise<void>,
  extra: Partial<AttachOptions> & { tty?: boolean } = {},
): Promise<void> {
  const w = workspace();
  try {
    const { spawn, state } = fakeQemu(script);
    const f = fakeTerminal({ tty: extra.tty ?? true });
    const runner = recordingRunner();
    const session = attachConsole(runner, {
      image: w.image,
      kvm: false,
      tmpDir: w.tmp,
      logger: recordingLogger(),
      spawn,
      terminal: f.term,
      ...extra,
    }).catch((e: unknown) => e);
    await check({ session, state, f, tmp: w.tmp, runner });
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
}

test('attachBanner names the detach key', () => {
  assert.match(
    attachBanner('/x/a.qcow2', 'kvm'),
    /serial console of \/x\/a\.qcow2\r\n.*press Ctrl-\] to detach/,
  );
  assert.match(attachBanner('/x/a.qcow2', 'tcg'), /TCG emulation/);
});

test('the console is on the terminal: keys reach the guest, Ctrl-] detaches, QEMU killed, files removed', async () => {
  let console!: PassThrough;
  const script: Script = ({ stdout }) => {
    console = stdout;
    stdout.write('Debian GNU/Linux 12 node ttyS0\r\n\r\nnode login: ');
  };
  await withSession(script, async ({ session, state, f, tmp, runner }) => {
    await until('the login prompt on the terminal', () => f.text().includes('node login: '));
    assert.match(f.text(), /press Ctrl-\] to detach/);
    assert.equal(f.rawModes, [true]);
    f.input.write('root\r');
    await until('the keys in the guest', () => state.typed === 'root\r');
    console.write('Password: ');
    await until('the guest answer', () => f.text().endsWith('Password: '));
    f.input.write('\x03\x1d');
    assert.equal(await session, { how: 'detached' });
    assert.is(state.typed, 'root\r\x03', 'Ctrl-C reaches the guest, the detach key does not');
    assert.equal(state.kills, ['SIGKILL']);
    assert.equal(f.rawModes, [true, false]);
    assert.equal(readdirSync(tmp), [], 'overlay removed');
    // the same QEMU as a plain boot: the overlay, the serial console on stdio
    assert.is(state.argv[state.argv.indexOf('-serial') + 1], 'stdio');
    assert.is(runner.calls[0]?.[0], 'qemu-img');
  });
});

test('the guest powering off ends the session normally', async () => {
  const script: Script = ({ stdout, exit }) => {
    stdout.write('reboot: Power down\r\n');
    setTimeout(() => exit(0), 5);
  };
  await withSession(script, async ({ session, f, tmp }) => {
    assert.equal(await session, { how: 'powered-off' });
    assert.equal(f.rawModes, [true, false]);
    assert.equal(readdirSync(tmp), []);
  });
});

test('QEMU failing is a CommandError with what it said', async () => {
  const script: Script = ({ stderr, exit }) => {
    stderr.write("qemu-system-x86_64: -drive file=x: Could not open 'x'\n");
    setTimeout(() => exit(1), 5);
  };
  await withSession(script, async ({ session, f, tmp }) => {
    const err = await session;
    assert.instance(err, CommandError);
    assert.match((err as Error).message, /QEMU stopped: command exited with code 1/);
    assert.match((err as Error).message, /Could not open/);
    assert.equal(f.rawModes, [true, false]);
    assert.equal(readdirSync(tmp), []);
  });
});

test('a signal stops the session: InterruptedError, QEMU killed, terminal restored', async () => {
  const ac = new AbortController();
  const script: Script = ({ stdout }) => {
    stdout.write('booting\r\n');
    setTimeout(() => ac.abort('SIGTERM'), 5);
  };
  await withSession(
    script,
    async ({ session, state, f, tmp }) => {
      assert.instance(await session, InterruptedError);
      assert.equal(state.kills, ['SIGKILL']);
      assert.equal(f.rawModes, [true, false]);
      assert.equal(readdirSync(tmp), []);
    },
    { signal: ac.signal },
  );
});

test('without a terminal: a UserError before QEMU starts', async () => {
  await withSession(
    () => {},
    async ({ session, state }) => {
      const err = await session;
      assert.instance(err, UserError);
      assert.match((err as Error).message, /needs a terminal/);
      assert.equal(state.argv, []);
    },
    { tty: false },
  );
});

test.run();
