import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingLogger } from '../../../src/log.ts';
import { processesRootedAt } from '../../../src/sys/pid.ts';
import { exitStatus, runInPty } from '../../../src/tty/pty.ts';
import { fakeTerminal, until } from './fake-terminal.ts';

test('exitStatus: the code, or 128 + signal as a shell reports it', () => {
  assert.is(exitStatus({ exitCode: 0 }), 0);
  assert.is(exitStatus({ exitCode: 3, signal: 0 }), 3);
  assert.is(exitStatus({ exitCode: 0, signal: 15 }), 143);
});

test('runInPty: a real pseudo-terminal: keys in, output out, size and resize, exit status back', async () => {
  const f = fakeTerminal({ columns: 100, rows: 30 });
  const logger = recordingLogger();
  const run = runInPty(
    {
      argv: ['/bin/sh', '-c', 'stty size; read x; stty size; echo "got:$x"; exit 3'],
      env: { PATH: '/usr/bin:/bin', TERM: 'dumb' },
    },
    f.term,
    logger,
  );
  await until('the first size', () => f.text().includes('30 100'));
  assert.equal(f.rawModes, [true], 'the user terminal is raw while the command runs');
  f.output.columns = 120;
  f.output.rows = 40;
  f.output.emit('resize');
  f.input.write('hello\r');
  assert.is(await run, 3);
  assert.match(f.text(), /40 120/);
  assert.match(f.text(), /got:hello/);
  assert.equal(f.rawModes, [true, false], 'restored after');
  assert.ok(logger.lines.some((l) => l.startsWith('debug $ /bin/sh -c')));
});

test('runInPty: the environment is exactly the one given; a signal gives 128 + n', async () => {
  const f = fakeTerminal();
  const status = await runInPty(
    {
      argv: ['/bin/sh', '-c', 'echo "[$HOME|$IB_NATIVE_IN_NAMESPACE|$TERM]"; kill -TERM $$'],
      env: { PATH: '/usr/bin:/bin', HOME: '/root', TERM: 'vt100' },
    },
    f.term,
    recordingLogger(),
  );
  assert.is(status, 143);
  assert.match(f.text(), /\[\/root\|\|vt100\]/);
});

test('processesRootedAt: processes whose root is the tree, from a /proc-like folder', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-proc-'));
  try {
    const tree = path.join(dir, 'tree');
    mkdirSync(tree);
    for (const [pid, root] of [
      ['12', tree],
      ['13', '/'],
      ['14', tree],
      ['self', tree],
    ] as const) {
      mkdirSync(path.join(dir, 'proc', pid), { recursive: true });
      symlinkSync(root, path.join(dir, 'proc', pid, 'root'));
    }
    mkdirSync(path.join(dir, 'proc', '15')); // a process we may not read
    assert.equal(processesRootedAt(`${tree}/`, path.join(dir, 'proc')).sort(), [12, 14]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
