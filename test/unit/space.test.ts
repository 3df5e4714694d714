import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandError, isNoSpace, UserError } from '../../src/errors.ts';
import { recordingRunner } from '../../src/run/runner.ts';
import {
  checkSpace,
  estimateSpace,
  type Filesystem,
  filesystemOf,
  memAvailable,
  NEARLY_FULL_BYTES,
  NoSpaceWatch,
  noSpaceError,
  SIZES,
  spaceProblems,
  workInMemory,
} from '../../src/space.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

test('estimate: a rootfs to build is sized from its package count and counted with its downloads', () => {
  const e = estimateSpace({ formats: ['iso'], packages: 11, rootfsCached: false, compressQcow2: true });
  const rootfs = SIZES.rootfsBase + 11 * SIZES.rootfsPerPackage;
  assert.equal(
    e.cache.map((n) => n.what),
    [
      'the base rootfs',
      'downloaded packages',
      'the configuration layers',
      'the live base squashfs',
      'the live work folder',
    ],
  );
  assert.is(e.cache[0]!.bytes, rootfs);
  // the measured minimal rootfs (954 MiB) fits the estimate
  assert.ok(rootfs >= 954 * MiB);
  assert.equal(e.output, [{ what: 'the iso output', bytes: Math.ceil(rootfs * 0.45) + 128 * MiB }]);
});

test('estimate: build --site writes one ISO per site into the output folder', () => {
  const one = estimateSpace({
    formats: ['iso', 'qcow2'],
    packages: 11,
    rootfsCached: true,
    compressQcow2: true,
  });
  const three = estimateSpace({
    formats: ['iso', 'qcow2'],
    packages: 11,
    rootfsCached: true,
    compressQcow2: true,
    isoCount: 3,
  });
  assert.equal(three.output[0], { what: 'the 3 site ISOs', bytes: 3 * one.output[0]!.bytes });
  assert.equal(three.output[1], one.output[1]);
  assert.equal(three.cache, one.cache, 'the sites share one ISO tree in the work folder');
});

test('estimate: a cached rootfs of known size costs nothing new and sizes everything derived from it', () => {
  const e = estimateSpace({
    formats: ['iso', 'qcow2'],
    packages: 77,
    rootfsCached: true,
    rootfsBytes: GiB,
    diskBytes: 19 * GiB,
    compressQcow2: true,
  });
  assert.not.ok(e.cache.some((n) => n.what === 'the base rootfs'));
  const raw = Math.ceil(GiB * 1.05) + 128 * MiB;
  assert.equal(e.cache.find((n) => n.what === 'the base disk')?.bytes, raw);
  assert.equal(e.cache.find((n) => n.what === 'the disk being configured')?.bytes, raw);
  // a compressed QCOW2's base (the base disk converted once) is the size of the QCOW2 output
  assert.is(e.cache.find((n) => n.what === 'the base QCOW2')?.bytes, Math.ceil(GiB * 0.45));
  assert.not.ok(
    estimateSpace({ formats: ['qcow2'], packages: 77, rootfsCached: true, compressQcow2: false }).cache.some(
      (n) => n.what === 'the base QCOW2',
    ),
  );
  assert.equal(
    e.output.map((n) => n.what),
    ['the iso output', 'the qcow2 output'],
  );
  assert.is(e.output[1]!.bytes, Math.ceil(GiB * 0.45));
});

test('estimate: a cached live base squashfs or base disk is not counted, the work copies are', () => {
  const e = estimateSpace({
    formats: ['iso', 'qcow2'],
    packages: 77,
    rootfsCached: true,
    rootfsBytes: GiB,
    familiesCached: ['disk'],
    compressQcow2: true,
  });
  assert.equal(
    e.cache.map((n) => n.what),
    [
      'the configuration layers',
      'the live base squashfs',
      'the live work folder',
      'the disk being configured',
    ],
  );
});

test('estimate: an uncompressed QCOW2 is as large as the raw disk, which never exceeds the virtual size', () => {
  const small = estimateSpace({
    formats: ['qcow2'],
    packages: 11,
    rootfsCached: true,
    rootfsBytes: 3 * GiB,
    diskBytes: 2 * GiB,
    compressQcow2: false,
  });
  assert.is(small.output[0]!.bytes, 2 * GiB);
  assert.is(small.cache.find((n) => n.what === 'the base disk')!.bytes, 2 * GiB);
  // ISO only: no disk anywhere
  const iso = estimateSpace({ formats: ['iso'], packages: 11, rootfsCached: true, compressQcow2: true });
  assert.not.ok([...iso.cache, ...iso.output].some((n) => /disk|qcow2/.test(n.what)));
});

test('estimate: a family is made once for all its formats, each format adds its output', () => {
  const e = estimateSpace({
    formats: ['qcow2', 'raw', 'vmdk', 'tar'],
    packages: 11,
    rootfsCached: true,
    rootfsBytes: GiB,
    diskBytes: 19 * GiB,
    compressQcow2: true,
  });
  // one base disk and one disk being configured, whatever the number of disk formats
  assert.is(e.cache.filter((n) => n.what === 'the base disk').length, 1);
  assert.is(e.cache.filter((n) => n.what === 'the disk being configured').length, 1);
  assert.not.ok(e.cache.some((n) => /squashfs/.test(n.what)));
  assert.equal(
    e.output.map((n) => n.what),
    ['the qcow2 output', 'the raw output', 'the vmdk output', 'the tar output'],
  );
  // the raw disk is sparse in the output, but the check counts its allocated worst case
  assert.is(e.output[1]!.bytes, Math.ceil(GiB * 1.05) + 128 * MiB);
});

const fs = (id: string, freeBytes: number): Filesystem => ({ id, freeBytes });

test('problems: each filesystem is checked against the sum of its folders; enough room is no problem', () => {
  const cache = { flag: '--cache-dir', dir: '/c', needs: [{ what: 'a', bytes: 3 * GiB }] };
  const output = { flag: '--output', dir: '/o', needs: [{ what: 'the iso output', bytes: GiB }] };
  assert.equal(
    spaceProblems([
      { ...cache, fs: fs('1', 4 * GiB) },
      { ...output, fs: fs('2', GiB) },
    ]),
    [],
  );
  // on one filesystem they add up
  const shared = spaceProblems([
    { ...cache, fs: fs('1', 3.5 * GiB) },
    { ...output, fs: fs('1', 3.5 * GiB) },
  ]);
  assert.is(shared.length, 1);
  assert.match(
    shared[0]!,
    /^--cache-dir \/c and --output \/o \(one filesystem\): 3\.5 GiB free, the build needs about 4\.0 GiB there \(a 3\.0 GiB, the iso output 1\.0 GiB\)$/,
  );
  // only the short one is named
  const out = spaceProblems([
    { ...cache, fs: fs('1', 9 * GiB) },
    { ...output, fs: fs('2', 10 * MiB) },
  ]);
  assert.equal(out, [
    '--output /o: 10.0 MiB free, the build needs about 1.0 GiB there (the iso output 1.0 GiB)',
  ]);
  // an unknown filesystem is not guessed at
  assert.equal(spaceProblems([{ ...output }]), []);
});

test('checkSpace: one UserError listing each short folder, with a hint', () => {
  const folders = [
    { flag: '--cache-dir', dir: '/c', needs: [{ what: 'the base disk', bytes: 2 * GiB }] },
    { flag: '--output', dir: '/o', needs: [{ what: 'the qcow2 output', bytes: GiB }] },
  ];
  try {
    checkSpace(folders, (d) => (d === '/c' ? fs('c', GiB) : fs('o', 100 * MiB)));
    assert.unreachable('no error');
  } catch (e) {
    assert.instance(e, UserError);
    const u = e as UserError;
    assert.match(
      u.message,
      /^not enough free disk space:\n {2}- --cache-dir \/c: 1\.0 GiB free.*\n {2}- --output \/o: 100\.0 MiB free/,
    );
    assert.match(u.hint ?? '', /bigger disk/);
  }
  checkSpace(folders, () => fs('x', 10 * GiB));
});

test('filesystemOf: walks up to the nearest existing folder', () => {
  const f = filesystemOf('/tmp/ib-native-does-not-exist/deeper');
  assert.ok(f && f.freeBytes > 0 && f.id === filesystemOf('/tmp')!.id);
});

const enospcTool = new CommandError(
  ['qemu-img', 'convert', '/w/disk.raw', '/o/.x.qcow2.partial-1'],
  1,
  'qemu-img: error while writing at byte 123: No space left on device',
  undefined,
  'converting to qcow2',
);

test('isNoSpace: a file write with ENOSPC, or a tool saying so; nothing else', () => {
  const write = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.ok(isNoSpace(write));
  assert.ok(isNoSpace(enospcTool));
  assert.not.ok(isNoSpace(new CommandError(['false'], 1, 'failed')));
  assert.not.ok(isNoSpace(new UserError('no space left on device')));
  assert.not.ok(isNoSpace(undefined));
});

test('noSpaceError: names the full folder, the step and what the tool said, with a hint', () => {
  const e = noSpaceError(enospcTool, [
    { flag: '--output', dir: '/o', freeBytes: 12 * 1024 },
    { flag: '--cache-dir', dir: '/c', freeBytes: 9 * GiB },
  ]);
  assert.is(
    e.message,
    'no space left on device (ENOSPC) in --output /o (12.0 KiB free) while converting to qcow2\n  qemu-img: error while writing at byte 123: No space left on device',
  );
  assert.match(e.hint ?? '', /point --output at a bigger disk/);
  assert.match(e.hint ?? '', /nothing was published/);
});

test('noSpaceError: when no folder is full, says so and points at the image filesystem', () => {
  const write = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const e = noSpaceError(write, [
    { flag: '--output', dir: '/o', freeBytes: NEARLY_FULL_BYTES },
    { flag: '--cache-dir', dir: '/c' },
  ]);
  assert.is(
    e.message,
    'no space left on device (ENOSPC) while writing a file; --output /o and --cache-dir /c still had room',
  );
  assert.match(e.hint ?? '', /disk\.size/);
});

test('NoSpaceWatch: measures when a command runs out of space, explains only such errors', async () => {
  const runner = recordingRunner((argv) => (argv[0] === 'qemu-img' ? enospcTool : undefined));
  const watch = new NoSpaceWatch({ '--output': '/tmp' });
  const wrapped = watch.wrap(runner);
  await wrapped.run(['true']);
  let caught: unknown;
  await wrapped.run(['qemu-img', 'convert']).catch((e) => {
    caught = e;
  });
  assert.is(caught, enospcTool);
  assert.equal(runner.calls, [['true'], ['qemu-img', 'convert']]);
  const explained = watch.explain(caught) as UserError;
  assert.instance(explained, UserError);
  assert.match(explained.message, /^no space left on device \(ENOSPC\) .*while converting to qcow2/);
  const other = new Error('other');
  assert.is(watch.explain(other), other);
});

test('memAvailable: /proc/meminfo in kB, in bytes; none without the line', () => {
  const text =
    'MemTotal:       24576000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\nBuffers:  1 kB\n';
  assert.is(memAvailable(text), 20000000 * 1024);
  assert.is(memAvailable('MemTotal: 1 kB\n'), undefined);
  assert.is(memAvailable(''), undefined);
});

test('workInMemory: up to 40 % of the available memory goes to a tmpfs of 60 %; more stays on disk', () => {
  const GiB = 2 ** 30;
  assert.equal(workInMemory(2 * GiB, 20 * GiB), { size: 12 * GiB });
  assert.equal(workInMemory(8 * GiB, 20 * GiB), { size: 12 * GiB });
  assert.is(workInMemory(8 * GiB + 1, 20 * GiB), undefined);
  // a small machine: the worker's 2.5 GB raw disk does not go to memory with 4 GiB available
  assert.is(workInMemory(2.5 * GiB, 4 * GiB), undefined);
  assert.is(workInMemory(1, undefined), undefined);
  // the tmpfs always has room for half again the estimate
  const fit = workInMemory(3 * GiB, 7.5 * GiB)!;
  assert.ok(fit.size >= 1.5 * 3 * GiB);
});

test.run();
