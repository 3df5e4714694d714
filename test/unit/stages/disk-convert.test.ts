import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import {
  diskConvertArgv,
  diskFacts,
  parseQemuImgCheck,
  parseQemuImgInfo,
  qemuImgCheckArgv,
} from '../../../src/stages/disk-convert.ts';

test('diskConvertArgv: a sparse copy for raw, streamOptimized VMDK, dynamic VHDX, in order', () => {
  assert.equal(diskConvertArgv('raw', '/w/disk.raw', '/o/n.img'), [
    'cp',
    '--sparse=always',
    '--reflink=auto',
    '--',
    '/w/disk.raw',
    '/o/n.img',
  ]);
  const vmdk = diskConvertArgv('vmdk', '/w/disk.raw', '/o/n.vmdk');
  assert.equal(vmdk, [
    'qemu-img',
    'convert',
    '-f',
    'raw',
    '-O',
    'vmdk',
    '-o',
    'subformat=streamOptimized,adapter_type=lsilogic,hwversion=6',
    '-p',
    '/w/disk.raw',
    '/o/n.vmdk',
  ]);
  const vhdx = diskConvertArgv('vhdx', '/w/disk.raw', '/o/n.vhdx');
  assert.equal(vhdx.slice(4, 8), ['-O', 'vhdx', '-o', 'subformat=dynamic']);
  // out of order (-W) would place clusters differently per run
  for (const a of [vmdk, vhdx]) assert.not.ok(a.includes('-W'));
  assert.is(qemuImgCheckArgv('/o/n.img', 'raw'), undefined);
  assert.equal(qemuImgCheckArgv('/o/n.vhdx', 'vhdx'), [
    'qemu-img',
    'check',
    '--output=json',
    '-f',
    'vhdx',
    '/o/n.vhdx',
  ]);
});

// as qemu-img 7.2 prints them for a converted minimal disk
const VMDK_INFO = JSON.stringify({
  'virtual-size': 20401094656,
  filename: 'n.vmdk',
  format: 'vmdk',
  'actual-size': 292503552,
  'format-specific': { type: 'vmdk', data: { cid: 1, 'create-type': 'streamOptimized', extents: [] } },
});

test('parseQemuImgInfo and parseQemuImgCheck: the facts, and what is wrong', () => {
  assert.equal(parseQemuImgInfo(VMDK_INFO), {
    format: 'vmdk',
    virtualBytes: 20401094656,
    actualBytes: 292503552,
    subformat: 'streamOptimized',
  });
  assert.equal(parseQemuImgInfo('{"format":"raw","virtual-size":1048576}'), {
    format: 'raw',
    virtualBytes: 1048576,
  });
  assert.throws(
    () => parseQemuImgInfo('{"format":"raw"}'),
    (e: unknown) => e instanceof UserError,
  );
  assert.equal(parseQemuImgCheck('{"check-errors":0,"filename":"n.vhdx","format":"vhdx"}'), []);
  assert.equal(parseQemuImgCheck('{"check-errors":0,"corruptions":2,"leaks":1}'), [
    '2 corruptions',
    '1 leaks',
  ]);
});

test('diskFacts: a wrong format, size or subformat, or a failed check, is an error', async () => {
  const answer = (info: string, check = '{"check-errors":0}') =>
    recordingRunner((argv) => ({ stdout: argv[1] === 'info' ? info : check }));
  const ok = answer(VMDK_INFO);
  assert.is((await diskFacts(ok, 'vmdk', '/o/n.vmdk', 20401094656)).subformat, 'streamOptimized');
  assert.equal(
    ok.calls.map((c) => c.slice(0, 2)),
    [
      ['qemu-img', 'info'],
      ['qemu-img', 'check'],
    ],
  );
  const fails = async (r: ReturnType<typeof answer>, size: number, why: RegExp) =>
    diskFacts(r, 'vmdk', '/o/n.vmdk', size).then(
      () => assert.unreachable('accepted'),
      (e: unknown) => assert.ok(e instanceof UserError && why.test(e.message), String(e)),
    );
  await fails(ok, 4096, /virtual size 20401094656, not the raw disk's 4096/);
  await fails(answer(VMDK_INFO.replace('streamOptimized', 'monolithicSparse')), 20401094656, /subformat/);
  await fails(answer(VMDK_INFO, '{"check-errors":0,"corruptions":3}'), 20401094656, /3 corruptions/);
  await fails(answer(VMDK_INFO.replace('"vmdk"', '"raw"')), 20401094656, /format raw, not vmdk/);
});

test.run();
