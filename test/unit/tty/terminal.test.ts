import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DETACH_KEY, relayKeys, splitAtDetach, terminalSize } from '../../../src/tty/terminal.ts';
import { fakeTerminal } from './fake-terminal.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('splitAtDetach: forwards everything without the key, stops at the key', () => {
  assert.equal(splitAtDetach(Buffer.from('ls -l\r')), { forward: Buffer.from('ls -l\r'), detach: false });
  const r = splitAtDetach(Buffer.from('ab\x1dcd'));
  assert.is(r.forward.toString(), 'ab');
  assert.ok(r.detach);
  const only = splitAtDetach(Buffer.from([DETACH_KEY.byte]));
  assert.is(only.forward.length, 0);
  assert.ok(only.detach);
  // Ctrl-C, Ctrl-D, escape sequences pass through untouched
  const keys = Buffer.from('\x03\x04\x1b[A\x1b]0;t\x07');
  assert.equal(splitAtDetach(keys), { forward: keys, detach: false });
  // another key can be chosen
  assert.ok(splitAtDetach(Buffer.from('x\x01'), 0x01).detach);
});

test('terminalSize: the terminal says, or 80x24', () => {
  assert.equal(terminalSize(fakeTerminal({ columns: 132, rows: 50 }).term.output), { cols: 132, rows: 50 });
  assert.equal(terminalSize(fakeTerminal().term.output), { cols: 80, rows: 24 });
  assert.equal(terminalSize(fakeTerminal({ columns: 0, rows: 0 }).term.output), { cols: 80, rows: 24 });
});

test('relayKeys: raw mode while relaying, keys forwarded as bytes, restored on stop', async () => {
  const f = fakeTerminal();
  const got: Buffer[] = [];
  const stop = relayKeys(f.term, (b) => got.push(b));
  assert.equal(f.rawModes, [true]);
  f.input.write(Buffer.from('echo hi\r'));
  f.input.write('\x03');
  await tick();
  assert.is(Buffer.concat(got).toString(), 'echo hi\r\x03');
  stop();
  stop(); // twice is harmless
  assert.equal(f.rawModes, [true, false]);
  f.input.write('late');
  await tick();
  assert.is(Buffer.concat(got).toString(), 'echo hi\r\x03', 'nothing forwarded after stop');
});

test('relayKeys: the detach key stops relaying and restores the terminal', async () => {
  const f = fakeTerminal();
  const got: Buffer[] = [];
  let detached = 0;
  relayKeys(f.term, (b) => got.push(b), { detachKey: DETACH_KEY.byte, onDetach: () => detached++ });
  f.input.write('root\r');
  f.input.write('pw\x1dafter');
  f.input.write('more');
  await tick();
  assert.is(Buffer.concat(got).toString(), 'root\rpw');
  assert.is(detached, 1);
  assert.equal(f.rawModes, [true, false]);
});

test('relayKeys: without a detach key, Ctrl-] is an ordinary key (the shell gets it)', async () => {
  const f = fakeTerminal();
  const got: Buffer[] = [];
  const stop = relayKeys(f.term, (b) => got.push(b));
  f.input.write('\x1d');
  await tick();
  assert.is(Buffer.concat(got).toString(), '\x1d');
  stop();
});

test('relayKeys: resizes are reported with the new size; not a TTY: no raw mode', async () => {
  const f = fakeTerminal({ tty: false, columns: 100, rows: 30 });
  const sizes: { cols: number; rows: number }[] = [];
  const stop = relayKeys(f.term, () => {}, { onResize: (s) => sizes.push(s) });
  f.output.columns = 120;
  f.output.rows = 40;
  f.output.emit('resize');
  stop();
  f.output.emit('resize');
  assert.equal(sizes, [{ cols: 120, rows: 40 }]);
  assert.equal(f.rawModes, []);
});

test.run();
