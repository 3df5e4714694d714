import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  comparedExtents,
  DELTA_LIMITS,
  deltaRefusal,
  deltaRuns,
  mergeExtents,
  parseDataExtents,
  QCOW2_CLUSTER,
  qemuIoDeltaArgv,
  qemuIoWritesFromFile,
} from '../../../src/disk/delta.ts';
import { changedClusters } from '../../../src/stages/qcow2-delta.ts';

const C = QCOW2_CLUSTER;
const MiB = 2 ** 20;

test('parseDataExtents: data extents of qemu-img map, holes dropped, neighbours merged', () => {
  const map = JSON.stringify([
    { start: 0, length: 1048576, depth: 0, present: true, zero: false, data: true, offset: 0 },
    { start: 1048576, length: 4096, depth: 0, present: true, zero: false, data: true, offset: 1048576 },
    { start: 1052672, length: 5000000, depth: 0, present: true, zero: true, data: false },
    { start: 6052672, length: 8192, depth: 0, present: true, zero: false, data: true, offset: 6052672 },
  ]);
  assert.equal(parseDataExtents(map), [
    { start: 0, length: 1052672 },
    { start: 6052672, length: 8192 },
  ]);
  assert.equal(parseDataExtents('[]'), []);
  assert.throws(() => parseDataExtents('qemu-img: Could not open'), /no JSON/);
  assert.throws(() => parseDataExtents('{"start": 0}'), /no list/);
  assert.throws(() => parseDataExtents('[{"start": 0, "length": 5}]'), /without start, length and data/);
});

test('mergeExtents: sorted; overlapping, touching or within the gap merged', () => {
  const e = [
    { start: 100, length: 10 },
    { start: 0, length: 50 },
    { start: 40, length: 20 },
    { start: 60, length: 5 },
  ];
  assert.equal(mergeExtents(e, 0), [
    { start: 0, length: 65 },
    { start: 100, length: 10 },
  ]);
  assert.equal(mergeExtents(e, 35), [{ start: 0, length: 110 }]);
});

test('comparedExtents: union of both disks data, widened to whole clusters, clipped to the disk', () => {
  const size = 10 * C + 512;
  const a = [{ start: C + 10, length: 20 }];
  const b = [
    { start: 3 * C - 1, length: 2 },
    { start: 10 * C + 100, length: 50 },
  ];
  assert.equal(comparedExtents(a, b, size), [
    { start: C, length: 3 * C },
    { start: 10 * C, length: 512 },
  ]);
  assert.equal(comparedExtents([], [], size), []);
});

test('deltaRuns: neighbours and small gaps in one write; a long gap or a long run splits', () => {
  const size = 100 * MiB;
  assert.equal(deltaRuns([0, C, 2 * C], size), [{ start: 0, length: 3 * C }]);
  // 8 unchanged clusters between: one write; 9: two
  assert.equal(deltaRuns([0, 9 * C], size), [{ start: 0, length: 10 * C }]);
  assert.equal(deltaRuns([0, 10 * C], size), [
    { start: 0, length: C },
    { start: 10 * C, length: C },
  ]);
  assert.equal(deltaRuns([0, 10 * C], size, { gapClusters: 0 }).length, 2);
  // no run longer than runBytes
  const many = Array.from({ length: 6 }, (_, n) => n * C);
  assert.equal(deltaRuns(many, size, { runBytes: 4 * C }), [
    { start: 0, length: 4 * C },
    { start: 4 * C, length: 2 * C },
  ]);
  // the last cluster clipped to the disk's end
  assert.equal(deltaRuns([C], C + 512), [{ start: C, length: 512 }]);
  assert.equal(deltaRuns([], size), []);
});

test('deltaRefusal: too large a share of the data, or too many writes, falls back to a whole convert', () => {
  assert.is(deltaRefusal([{ start: 0, length: 10 * MiB }], 1000 * MiB), undefined);
  assert.match(
    deltaRefusal([{ start: 0, length: 300 * MiB }], 1000 * MiB) ?? '',
    /30 % of the disk's data changed/,
  );
  const runs = Array.from({ length: DELTA_LIMITS.runs + 1 }, (_, n) => ({ start: n * 2 * C, length: C }));
  assert.match(deltaRefusal(runs, 10 ** 12) ?? '', /separate changes/);
  assert.is(deltaRefusal([], 0), undefined);
});

test('qemuIoDeltaArgv: a discard then a compressed write per run; plain file names only', () => {
  const runs = [
    { start: 0, length: C },
    { start: 5 * C, length: 3 * C },
  ];
  assert.equal(qemuIoDeltaArgv('/o/x.qcow2', runs, ['d-0.bin', 'd-1.bin']), [
    'qemu-io',
    '-f',
    'qcow2',
    '--discard=unmap',
    '-c',
    `discard -q 0 ${C}`,
    '-c',
    `write -q -c -s d-0.bin 0 ${C}`,
    '-c',
    `discard -q ${5 * C} ${3 * C}`,
    '-c',
    `write -q -c -s d-1.bin ${5 * C} ${3 * C}`,
    '--',
    '/o/x.qcow2',
  ]);
  assert.throws(() => qemuIoDeltaArgv('/o/x', runs.slice(0, 1), ['a b.bin']), /not a plain file name/);
  assert.throws(() => qemuIoDeltaArgv('/o/x', runs, ['d-0.bin']), /one file per run/);
});

test('qemuIoWritesFromFile: QEMU 7.2 help has -s source_file; 4.2 has none', () => {
  const h72 = `write [-bcCfnquz] [-P pattern | -s source_file] off len -- writes a number of bytes at a specified offset
 -s, -- use a pattern file to fill the write buffer`;
  const h42 = `write [-bcCfnquz] [-P pattern] off len -- writes a number of bytes at a specified offset
 -P, -- use different pattern to fill file`;
  assert.ok(qemuIoWritesFromFile(h72));
  assert.not.ok(qemuIoWritesFromFile(h42));
});

test('changedClusters: the clusters that differ within the extents, holes and short files as zeros', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ibn-delta-'));
  try {
    const write = (file: string, parts: [number, string][], size: number) => {
      const fd = openSync(file, 'w');
      for (const [at, text] of parts) writeSync(fd, Buffer.from(text), 0, text.length, at);
      // a hole up to the size
      if (size) writeSync(fd, Buffer.from([0]), 0, 1, size - 1);
      closeSync(fd);
    };
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    // 80 clusters (5 MiB: more than one 4 MiB read); b differs in clusters 1, 70 and 79
    write(
      a,
      [
        [C + 5, 'same'],
        [70 * C + 1, 'x'],
      ],
      80 * C,
    );
    write(
      b,
      [
        [C + 5, 'diff'],
        [70 * C + 1, 'y'],
        [79 * C + 3, 'z'],
      ],
      80 * C,
    );
    const all = [{ start: 0, length: 80 * C }];
    const seen: number[] = [];
    assert.equal(
      await changedClusters(a, b, all, (done, total) => {
        assert.is(total, 80 * C);
        seen.push(done);
      }),
      [C, 70 * C, 79 * C],
    );
    // progress by bytes compared, never backwards, ending at the total
    assert.equal(seen, [0, 4 * MiB, 80 * C]);
    // only what the extents cover is read
    assert.equal(await changedClusters(a, b, [{ start: 60 * C, length: 15 * C }]), [70 * C]);
    // identical files: nothing; a shorter file reads as zeros past its end
    assert.equal(await changedClusters(a, a, all), []);
    const short = path.join(dir, 'short');
    write(
      short,
      [
        [C + 5, 'same'],
        [70 * C + 1, 'x'],
      ],
      0,
    );
    assert.equal(await changedClusters(a, short, all), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
