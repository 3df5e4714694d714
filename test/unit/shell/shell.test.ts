import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandError } from '../../../src/errors.ts';
import { recordingLogger } from '../../../src/log.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import { debugShellHook, decideDebugShell, failureSummary } from '../../../src/shell/debug.ts';
import { shellArgv, shellBanner, shellEnv } from '../../../src/shell/shell.ts';
import { fakeTerminal } from '../tty/fake-terminal.ts';

test('shellArgv: a login bash in the tree, dying with ib-native', () => {
  assert.equal(shellArgv('/c/work/layers/common/merged'), [
    'setpriv',
    '--pdeathsig',
    'KILL',
    '--',
    'chroot',
    '/c/work/layers/common/merged',
    '/bin/bash',
    '--login',
  ]);
  assert.equal(shellArgv('/t', { hasBash: false, pdeathsig: false }), ['chroot', '/t', '/bin/sh', '-l']);
});

test('shellEnv: a clean root environment, the prompt label, the terminal type and the proxy only', () => {
  const env = shellEnv({
    label: 'ib-native:minimal',
    term: 'screen-256color',
    netEnv: { http_proxy: 'http://p:3128', HOME: '/ignored' },
  });
  assert.equal(env, {
    http_proxy: 'http://p:3128',
    HOME: '/root',
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    TERM: 'screen-256color',
    debian_chroot: 'ib-native:minimal',
  });
  assert.is(shellEnv({ label: 'x' }).TERM, 'xterm');
  assert.is(shellEnv({ label: 'x', term: '' }).TERM, 'xterm');
});

test('shellBanner: says what the shell is and that changes are discarded, in raw-mode line ends', () => {
  const b = shellBanner({ lines: ['ib-native shell: minimal', 'second'], after: 'Leave with `exit`.' });
  assert.match(b, /\*\*\* ib-native shell: minimal\r\n\*\*\* second\r\n/);
  assert.match(b, /Changes made in this shell are discarded\. Leave with `exit`\./);
  assert.not.match(b.replace(/\r\n/g, ''), /\n/, 'every line ends with \\r\\n (the terminal is raw)');
});

test('decideDebugShell: opens on a terminal, warns without one, stays quiet when interrupted', () => {
  assert.equal(decideDebugShell({ stdinIsTTY: true }), { open: true });
  const noTty = decideDebugShell({ stdinIsTTY: false });
  assert.is(noTty.open, false);
  assert.match((noTty as { warning: string }).warning, /not a terminal/);
  assert.equal(decideDebugShell({ stdinIsTTY: true, interrupted: 'SIGINT' }), { open: false });
  assert.equal(decideDebugShell({ stdinIsTTY: false, interrupted: 'SIGTERM' }), { open: false });
});

test('failureSummary: the first non-empty line of the error', () => {
  const e = new CommandError(
    ['chroot', '/t', '/run/x'],
    7,
    'boom-from-script',
    undefined,
    'user script boom',
  );
  assert.is(failureSummary(e), 'user script boom: command exited with code 7: chroot /t /run/x');
  assert.is(failureSummary(new Error('\nsecond line')), 'second line');
  assert.is(failureSummary('plain'), 'plain');
});

test('debugShellHook: without a terminal it warns and returns, opening nothing', async () => {
  const logger = recordingLogger();
  const runner = recordingRunner();
  const f = fakeTerminal({ tty: false });
  let before = 0;
  const hook = debugShellHook({ interrupted: () => undefined, terminal: f.term, beforeOpen: () => before++ });
  await hook({ tree: '/nonexistent/merged', stage: 'configure', error: new Error('x'), runner, logger });
  assert.equal(runner.calls, [], 'no chroot session opened');
  assert.equal(f.text(), '');
  assert.is(before, 0, 'the live display is left alone');
  assert.ok(logger.lines.some((l) => /^warn --debug-shell: standard input is not a terminal/.test(l)));
});

test('debugShellHook: after an interruption it does nothing at all', async () => {
  const logger = recordingLogger();
  const runner = recordingRunner();
  const f = fakeTerminal();
  const hook = debugShellHook({ interrupted: () => 'SIGINT', terminal: f.term });
  await hook({ tree: '/nonexistent/merged', stage: 'qcow2', error: new Error('x'), runner, logger });
  assert.equal(runner.calls, []);
  assert.equal(logger.lines, []);
  assert.equal(f.rawModes, []);
});

test.run();
