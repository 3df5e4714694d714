import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostNotReadyError } from '../../../src/errors.ts';
import { chooseBlockDevice, freeNbdDevice, partitionPath } from '../../../src/sys/blockdev.ts';

test('partitionPath: a p before the number when the device name ends in a digit', () => {
  assert.is(partitionPath('/dev/loop0', 1), '/dev/loop0p1');
  assert.is(partitionPath('/dev/loop12', 3), '/dev/loop12p3');
  assert.is(partitionPath('/dev/nbd0', 2), '/dev/nbd0p2');
  assert.is(partitionPath('/dev/sda', 1), '/dev/sda1');
  assert.is(partitionPath('/dev/vdb', 10), '/dev/vdb10');
});

test('chooseBlockDevice: nbd when available, else loop; forcing nbd without the module: the host is not ready', () => {
  assert.is(chooseBlockDevice(undefined, true), 'nbd');
  assert.is(chooseBlockDevice(undefined, false), 'loop');
  assert.is(chooseBlockDevice('loop', true), 'loop');
  assert.is(chooseBlockDevice('nbd', true), 'nbd');
  assert.throws(
    () => chooseBlockDevice('nbd', false),
    (e: Error) =>
      e instanceof HostNotReadyError &&
      /nbd kernel module is not available/.test(e.message) &&
      /modprobe nbd/.test(e.hint ?? ''),
  );
});

test('freeNbdDevice: the lowest-numbered nbd without a pid file, from a fake sysfs', () => {
  const sys = mkdtempSync(path.join(tmpdir(), 'ib-native-sysblock-'));
  try {
    assert.is(freeNbdDevice(sys), undefined);
    for (const n of ['nbd0', 'nbd1', 'nbd2', 'nbd10', 'nbd11', 'loop0', 'nbd3p1', 'sda'])
      mkdirSync(path.join(sys, n));
    for (const n of ['nbd0', 'nbd1', 'nbd2', 'nbd3p1']) writeFileSync(path.join(sys, n, 'pid'), '123\n');
    // numeric order: nbd10 before nbd11 (and not after nbd1 as a string sort would put it)
    assert.is(freeNbdDevice(sys), '/dev/nbd10');
    writeFileSync(path.join(sys, 'nbd10', 'pid'), '1\n');
    assert.is(freeNbdDevice(sys), '/dev/nbd11');
    writeFileSync(path.join(sys, 'nbd11', 'pid'), '1\n');
    assert.is(freeNbdDevice(sys), undefined);
    rmSync(path.join(sys, 'nbd1', 'pid'));
    assert.is(freeNbdDevice(sys), '/dev/nbd1');
  } finally {
    rmSync(sys, { recursive: true, force: true });
  }
  assert.is(freeNbdDevice('/nonexistent/sys/block'), undefined);
});

test.run();
