/**
 * Issue 5, reproducible outputs: with SOURCE_DATE_EPOCH set and the same cached rootfs, two
 * builds of one profile (minimal plus a sysctl and a file, so that the configuration layers are
 * not empty) into two folders give bit-identical ISOs and QCOW2s, identical SBOMs, and
 * manifests that differ only in `stages` (wall times) and `cacheHits` (what the first build
 * had to make). On a mismatch the first differing byte is named, and where it lies.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSCTL_FILE } from '../../src/modules/sysctl.ts';
import { sha256File } from '../../src/sys/files.ts';
import { assertCleanHost, cli, DISTRO, ownScratch } from '../helpers/host.ts';
import { ext4Cat, partitionTable } from '../helpers/image.ts';
import { minimalVariant } from '../helpers/profiles.ts';

const DIR = ownScratch('reproducible');
const SDE = 1700000000; // 2023-11-14T22:13:20Z
const MARK = 'IBN-REPRO-5c1e';
const NAME = 'repro';

const writeProfile = () =>
  minimalVariant(DIR, NAME, 123456, { path: '/etc/ib-native-repro', content: `${MARK}\n` });

async function build(out: string) {
  const r = await cli(
    ['build', '--profile', writeProfile(), '--distro', DISTRO, '--format', 'iso,qcow2', '--output', out],
    { env: { SOURCE_DATE_EPOCH: String(SDE) } },
  );
  assert.is(r.exitCode, 0, `build into ${out} failed:\n${r.all.slice(-4000)}`);
}

/** `cmp`'s first differing byte (1-based), or undefined when the files are equal. */
async function firstDifference(a: string, b: string): Promise<number | undefined> {
  const r = await execa('cmp', [a, b], { reject: false, all: true });
  if (r.exitCode === 0) return undefined;
  const m = /byte (\d+)/.exec(String(r.all));
  if (!m) throw new Error(`cmp ${a} ${b}: ${r.all}`);
  return Number(m[1]);
}

/** Where a mismatch lies, to start looking: the ISO block, or the partition of the raw disk. */
async function whereTheyDiffer(a: string, b: string): Promise<string> {
  const at = await firstDifference(a, b);
  if (at === undefined) return 'no difference';
  const lines = [`${path.basename(a)}: first difference at byte ${at} (cmp ${a} ${b})`];
  if (a.endsWith('.iso')) {
    const lba = Math.floor((at - 1) / 2048);
    const report = await execa('xorriso', ['-indev', a, '-find', '/', '-exec', 'report_lba'], {
      reject: false,
      all: true,
    });
    // lines: File data lba:  0 ,  START ,  BLOCKS ,  SIZE , 'PATH'
    const file = String(report.all)
      .split('\n')
      .map((l) => /File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*,\s*'(.*)'/.exec(l))
      .find((m) => m && lba >= Number(m[1]) && lba < Number(m[1]) + Number(m[2]));
    lines.push(
      `ISO block ${lba}: ${file ? `in ${file[3]}, its block ${lba - Number(file[1])}` : 'in no file (volume descriptors, directory records, boot catalog or the appended ESP)'}`,
    );
  } else {
    const raws = [a, b].map((q) => `${q}.raw`);
    try {
      for (const [q, raw] of [a, b].map((q, i) => [q, raws[i]!] as const))
        await execa('qemu-img', ['convert', '-O', 'raw', q, raw]);
      const rawAt = await firstDifference(raws[0]!, raws[1]!);
      if (rawAt === undefined)
        lines.push('the raw disks are equal: only the QCOW2 layout differs (qemu-img convert)');
      else {
        const sector = Math.floor((rawAt - 1) / 512);
        const part = [...(await partitionTable(raws[0]!)).parts].find(
          ([, p]) => sector >= p.first && sector <= p.last,
        );
        lines.push(
          `raw disks differ first at byte ${rawAt} (sector ${sector}, ${part ? `partition ${part[0]}, byte ${(sector - part[1].first) * 512} of it` : 'outside any partition: MBR/GPT or BIOS boot area'})`,
        );
      }
    } finally {
      for (const raw of raws) rmSync(raw, { force: true });
    }
  }
  return lines.join('\n');
}

const json = (f: string) => JSON.parse(readFileSync(f, 'utf8'));

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
});

test('two builds with SOURCE_DATE_EPOCH give bit-identical ISOs and QCOW2s', async () => {
  const [a, b] = [path.join(DIR, 'out-a'), path.join(DIR, 'out-b')];
  await build(a);
  await build(b);
  for (const ext of ['iso', 'qcow2']) {
    const [fa, fb] = [path.join(a, `${NAME}.${ext}`), path.join(b, `${NAME}.${ext}`)];
    const [sa, sb] = [await sha256File(fa), await sha256File(fb)];
    if (sa !== sb) assert.unreachable(`${ext} differs (${sa} vs ${sb}):\n${await whereTheyDiffer(fa, fb)}`);
    assert.is(readFileSync(`${fa}.sha256`, 'utf8'), readFileSync(`${fb}.sha256`, 'utf8'));
    // the SBOM is all content: identical too
    assert.is(
      readFileSync(`${fa}.spdx.json`, 'utf8'),
      readFileSync(`${fb}.spdx.json`, 'utf8'),
      `${ext} SBOM`,
    );
  }
  // the manifests differ only in wall times and in what the first build had to make
  const [ma, mb] = [json(path.join(a, `${NAME}.manifest.json`)), json(path.join(b, `${NAME}.manifest.json`))];
  for (const m of [ma, mb]) {
    assert.type(m.stages.qcow2, 'number');
    assert.is(m.cacheHits.rootfs, true, 'the rootfs must come from the cache');
    m.stages = undefined;
    m.cacheHits = undefined;
  }
  assert.equal(ma, mb);
  assert.is(ma.builtAt, new Date(SDE * 1000).toISOString());
  assertCleanHost(assert, 'after the reproducible builds');
});

test('the reproducible images carry the configuration and SOURCE_DATE_EPOCH times', async () => {
  const out = path.join(DIR, 'out-a');
  const pvd = await execa('xorriso', ['-indev', path.join(out, `${NAME}.iso`), '-pvd_info'], { all: true });
  assert.match(String(pvd.all), /Creation Time\s*:\s*2023111422132000/);
  assert.match(String(pvd.all), /Volume Id\s*:\s*config-2/);
  // the root filesystem read in place in the raw disk (debugfs at its offset: nothing extracted)
  const raw = path.join(DIR, `${NAME}.raw`);
  try {
    await execa('qemu-img', ['convert', '-O', 'raw', path.join(out, `${NAME}.qcow2`), raw]);
    const root = `${raw}?offset=${(await partitionTable(raw)).parts.get(1)!.first * 512}`;
    assert.match(await ext4Cat(root, '/etc/ib-native-repro'), MARK);
    assert.match(await ext4Cat(root, SYSCTL_FILE), /kernel\.pid_max\s*=\s*123456/);
    assert.match(await ext4Cat(root, '/etc/fstab'), /^UUID=\S+ \/ ext4 /m);
    // a file the build wrote: every time clamped to SOURCE_DATE_EPOCH (ctime too, set by debugfs)
    const utc = { env: { TZ: 'UTC' } };
    const stat = (await execa('debugfs', ['-R', 'stat /etc/ib-native-repro', root], utc)).stdout;
    for (const field of ['ctime', 'atime', 'mtime', 'crtime'])
      assert.match(stat, new RegExp(`${field}: 0x6553f100:00000000 -- Tue Nov 14 22:13:20 2023`), field);
    // a package file keeps its mtime from the .deb, ctime and atime follow it
    const ls = (await execa('debugfs', ['-R', 'stat /usr/bin/ls', root], utc)).stdout;
    const mtime = /\bmtime: (0x[0-9a-f]+)/.exec(ls)![1];
    assert.ok(Number(mtime) < SDE, `/usr/bin/ls mtime ${mtime} should predate SOURCE_DATE_EPOCH`);
    assert.match(ls, new RegExp(`ctime: ${mtime}:`));
    const sb = (await execa('dumpe2fs', ['-h', root], utc)).stdout;
    assert.match(sb, /Filesystem created:\s+Tue Nov 14 22:13:20 2023/);
    assert.match(sb, /Last mount time:\s+n\/a/);
    const fsck = await execa('e2fsck', ['-fn', root], { reject: false, all: true });
    assert.is(fsck.exitCode, 0, `e2fsck finds problems:\n${fsck.all}`);
  } finally {
    rmSync(raw, { force: true });
  }
});

test.run();
