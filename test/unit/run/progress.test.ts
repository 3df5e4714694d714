import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  aptProgress,
  debootstrapProgress,
  type LineParser,
  lineSplitter,
  mksquashfsProgress,
  type ProgressUpdate,
  qemuImgProgress,
} from '../../../src/run/progress.ts';

const run = (parse: LineParser, lines: string[]) =>
  lines.map(parse).filter((p): p is ProgressUpdate => p !== undefined);

test('apt: dlstatus and pmstatus lines, as apt 2.6 writes them to APT::Status-Fd', () => {
  // captured from `apt-get -o APT::Status-Fd=3 install --reinstall tmux` on Debian 12
  const sample = [
    'dlstatus:1:0.0000:Retrieving file 1 of 1',
    'dlstatus:1:100.0000:Retrieving file 1 of 1',
    'pmstatus:dpkg-exec:0.0000:Running dpkg',
    'pmstatus:tmux:20.0000:Unpacking tmux (amd64)',
    'pmstatus:tmux:60.0000:Configuring tmux (amd64)',
    // multi-arch package names carry the architecture
    'pmstatus:libc6:amd64:83.3333:Installed libc6 (amd64)',
    'E: something else',
  ];
  assert.equal(run(aptProgress('install').start(), sample), [
    { step: 'apt download', fraction: 0 },
    { step: 'apt download', fraction: 1 },
    { step: 'apt install', fraction: 0 },
    { step: 'apt install', fraction: 0.2 },
    { step: 'apt install', fraction: 0.6 },
    { step: 'apt install', fraction: 0.833333 },
  ]);
  assert.equal(run(aptProgress('update').start(), ['dlstatus:3:45.5:Retrieving file 3 of 4']), [
    { step: 'apt update', fraction: 0.455 },
  ]);
  assert.is(aptProgress('install').source, 'fd3');
});

test('debootstrap: packages counted while fetched, then unpack+configure against twice that', () => {
  const parse = debootstrapProgress().start();
  const out = run(parse, [
    'I: Retrieving InRelease ',
    'I: Checking Release signature',
    'I: Retrieving Packages ',
    'I: Validating Packages ',
    'I: Resolving dependencies of required packages...',
    'I: Checking component main on http://deb.debian.org/debian...',
    'I: Validating adduser 3.134',
    'I: Retrieving apt 2.6.1',
    'I: Validating apt 2.6.1',
    'I: Retrieving libc6 2.36-9+deb12u4',
    'I: Validating libc6 2.36-9+deb12u4',
    'I: Chosen extractor for .deb packages: dpkg-deb',
    'I: Extracting adduser...',
    'I: Extracting libc6...',
    'I: Installing core packages...',
    'I: Unpacking required packages...',
    'I: Unpacking adduser...',
    'I: Unpacking apt...',
    'I: Unpacking libc6...',
    'I: Configuring required packages...',
    'I: Configuring libc6...',
    'I: Configuring adduser...',
    'I: Configuring apt...',
    'I: Configuring apt...',
    'I: Base system installed successfully.',
  ]);
  assert.equal(
    out.filter((p) => p.step === 'debootstrap fetch').map((p) => p.done),
    [1, 2, 2, 3, 3],
  );
  assert.equal(
    out.filter((p) => p.step === 'debootstrap extract').map((p) => p.done),
    [1, 2],
  );
  const install = out.filter((p) => p.step === 'debootstrap install');
  assert.equal(
    install.map((p) => p.done),
    [1, 2, 3, 4, 5, 6, 6],
  );
  assert.ok(install.every((p) => p.total === 6));
  assert.is(install.at(-1)!.fraction, 1, 'never past the end');
  // a fresh run starts from zero
  assert.equal(debootstrapProgress().start()('I: Validating adduser 3.134'), {
    step: 'debootstrap fetch',
    done: 1,
  });
});

test('mksquashfs: the progress bar of squashfs-tools 4.5, growing total included', () => {
  // captured (each redraw is a \r-separated line)
  const parse = mksquashfsProgress('mksquashfs base').start();
  const out = run(parse, [
    'Parallel mksquashfs: Using 1 processor',
    'Creating 4.0 filesystem on out.sq, block size 131072.',
    '[/                                                               ]   0/308   0%',
    '[================/                                             ] 1500/5577  26%',
    '[=============================================================|] 5577/5577 100%',
    'Filesystem size 50136.75 Kbytes (48.96 Mbytes)',
    '\t37.79% of uncompressed filesystem size (132677.25 Kbytes)',
  ]);
  assert.equal(
    out.map((p) => [p.done, p.total]),
    [
      [0, 308],
      [1500, 5577],
      [5577, 5577],
    ],
  );
  assert.is(out[1]!.fraction, 1500 / 5577);
  assert.is(out[2]!.fraction, 1);
  assert.ok(out.every((p) => p.step === 'mksquashfs base'));
});

test('qemu-img convert -p: (N/100%)', () => {
  const parse = qemuImgProgress('qemu-img convert').start();
  assert.equal(run(parse, ['    (0.00/100%)', '    (12.50/100%)', '    (100.00/100%)', 'other']), [
    { step: 'qemu-img convert', fraction: 0 },
    { step: 'qemu-img convert', fraction: 0.125 },
    { step: 'qemu-img convert', fraction: 1 },
  ]);
});

test('lineSplitter: \\r redraws are lines for parsing, collapsed for logging; chunks may cut lines', () => {
  const forParse = lineSplitter(true);
  assert.equal(forParse.push('    (0.00/10'), []);
  assert.equal(forParse.push('0%)\r    (50.00/100%)\r  (100'), ['    (0.00/100%)', '    (50.00/100%)']);
  assert.equal(forParse.push('.00/100%)\r\nnext'), ['  (100.00/100%)']);
  assert.equal(forParse.end(), ['next']);
  const forLog = lineSplitter(false);
  assert.equal(forLog.push('a\r\nbar 1%\rbar 50%\r'), ['a']);
  assert.equal(forLog.push('bar 100%\ndone\n'), ['bar 100%', 'done']);
  assert.equal(forLog.end(), []);
});

test.run();
