/**
 * Issue 12: the plan is the whole build. planBuild lists every stage in the order build runs
 * them (rootfs, common layer, each family once, then its formats), with each output's name and
 * the commands that make it; the registry has one plug-in per format name.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type BuildOptions, planBuild, spaceFolders, withSites } from '../../src/build.ts';
import { imageKindOfExtension } from '../../src/disk/magic.ts';
import { familyCacheEntry } from '../../src/formats/families.ts';
import { IMAGE_FORMATS } from '../../src/formats/index.ts';
import { fillCommand } from '../../src/formats/types.ts';
import { REPO_ROOT } from '../../src/package.ts';
import { FORMAT_INFO, FORMATS, type Format } from '../../src/profile/formats.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ibn-plan-'));
let n = 0;
async function plan(formats: Format[], extra = '', sde?: string) {
  const file = path.join(dir, `p${n++}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: 'p', extends: '${path.join(REPO_ROOT, 'profiles/minimal.ts')}', distro: 'debian-bookworm' ${extra} });\n`,
  );
  const saved = process.env.SOURCE_DATE_EPOCH;
  if (sde === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = sde;
  try {
    return await planBuild(file, { formats }, dir, 'debootstrap');
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
}

test('every format has one plug-in, of the family its name is listed with', () => {
  assert.equal(Object.keys(IMAGE_FORMATS).sort(), [...FORMATS].sort());
  for (const f of FORMATS) {
    const p = IMAGE_FORMATS[f]!;
    assert.is(p.name, f);
    assert.is(p.family, FORMAT_INFO[f].family, `${f}'s plug-in is of another family`);
  }
});

test('boot and inspect open each bootable format by its suffix, as its vocabulary says', () => {
  for (const f of FORMATS) {
    const { opens, suffix } = FORMAT_INFO[f] as { opens?: string; suffix: string };
    if (!opens || opens === 'pxe') continue;
    assert.is(imageKindOfExtension(`.${suffix}`), opens, f);
  }
  assert.is(imageKindOfExtension('.tar.zst'), undefined, 'the tar does not boot');
});

test('the stages: rootfs, the common layer, then each family once followed by its formats', async () => {
  const p = await plan(['tar', 'vmdk', 'iso', 'qcow2', 'raw']);
  assert.equal(
    p.stages.map((s) => s.stage),
    ['rootfs', 'configure', 'live', 'iso', 'disk', 'qcow2', 'raw', 'vmdk', 'tree', 'tar'],
  );
  assert.is(p.stages[0]!.key, p.rootfsKey);
  const outputs = p.stages.filter((s) => s.format).map((s) => s.output);
  assert.equal(outputs, ['p.iso', 'p.qcow2', 'p.img', 'p.vmdk', 'p.tar.zst']);
  // every format's stage carries the commands that make it, naming the family's product
  const commands = Object.fromEntries(p.stages.filter((s) => s.format).map((s) => [s.format, s.commands]));
  assert.equal(commands.raw, [['cp', '--sparse=always', '--reflink=auto', '--', '{raw}', '{out}']]);
  assert.ok(commands.vmdk?.[0]?.includes('subformat=streamOptimized,adapter_type=lsilogic,hwversion=6'));
  assert.equal(commands.qcow2?.[0]?.slice(-2), ['{raw}', '{out}']);
  assert.equal(commands.iso?.[0]?.[0], 'xorriso');
  assert.ok(commands.tar?.[0]?.includes('{tree}'));
  // the disk layout is planned for any disk format, not only qcow2
  assert.ok((await plan(['vhdx'])).layout);
  assert.not.ok((await plan(['iso', 'tar'])).layout);
});

test('SOURCE_DATE_EPOCH is read at plan time and decides the planned commands', async () => {
  const fast = await plan(['qcow2', 'iso']);
  const repro = await plan(['qcow2', 'iso'], '', '1700000000');
  assert.is(fast.sourceDateEpoch, undefined);
  assert.is(repro.sourceDateEpoch, 1700000000);
  const cmd = (p: typeof fast, f: Format) => p.stages.find((s) => s.format === f)!.commands![0]!;
  // QCOW2 clusters in order only when reproducible (-W reorders them)
  assert.ok(cmd(fast, 'qcow2').includes('-W'));
  assert.not.ok(cmd(repro, 'qcow2').includes('-W'));
  assert.ok(cmd(repro, 'iso').some((a) => a.startsWith('--modification-date=')));
  assert.not.ok(cmd(fast, 'iso').some((a) => a.startsWith('--modification-date=')));
  assert.match(repro.stages.find((s) => s.stage === 'disk')!.describe, /reproducible/);
});

test('contexts name the families; the original iso and qcow2 names still mean live and disk', async () => {
  const p = await plan(
    ['iso', 'qcow2'],
    `, files: [{ path: '/etc/a', content: 'a', contexts: ['iso'] }, { path: '/etc/b', content: 'b', contexts: ['qcow2', 'tree'] }]`,
  );
  const of = (file: string) => p.ops.find((o) => (o as { path?: string }).path === file)?.contexts;
  assert.equal(of('/etc/a'), ['live']);
  assert.equal(of('/etc/b'), ['disk', 'tree']);
});

test('fillCommand: placeholders become the build paths; one the step does not have is a bug', () => {
  assert.equal(fillCommand(['cp', '{raw}', '{out}', 'x{work}y'], { out: '/o', work: '/w', raw: '/r' }), [
    'cp',
    '/r',
    '/o',
    'x/wy',
  ]);
  assert.throws(() => fillCommand(['tar', '-C', '{tree}'], { out: '/o', work: '/w' }), /needs \{tree\}/);
});

test('the space estimate leaves out the base entries the cache holds for this rootfs, found by their keys', async () => {
  const p = await plan(['iso', 'qcow2']);
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'ibn-space-'));
  const entry = (kind: string, key: string, createdAt: string) => {
    mkdirSync(path.join(cacheDir, kind, key), { recursive: true });
    writeFileSync(
      path.join(cacheDir, kind, key, 'entry.json'),
      JSON.stringify({ kind, key, createdAt, summary: '', usedBy: [] }),
    );
  };
  const needs = () =>
    spaceFolders(p, { profile: 'p', cacheDir, outputDir: dir } as BuildOptions)[0]!.needs.map((n) => n.what);
  const stamp = '2026-12-01T10:00:00.000Z';
  entry('rootfs', p.rootfsKey, stamp);
  assert.ok(needs().includes('the live base squashfs'));
  // an entry made from an older build of the same rootfs key does not count
  entry('squashfs', familyCacheEntry('live', p, '2026-11-01T10:00:00.000Z')!.key, stamp);
  assert.ok(needs().includes('the live base squashfs'));
  entry('squashfs', familyCacheEntry('live', p, stamp)!.key, stamp);
  assert.not.ok(needs().includes('the live base squashfs'));
  assert.ok(needs().includes('the base disk'));
  entry('disk', familyCacheEntry('disk', p, stamp)!.key, stamp);
  assert.equal(needs(), ['the configuration layers', 'the live work folder', 'the disk being configured']);
  // a reproducible disk is made from the tree: no base disk is read
  const repro = await plan(['qcow2'], '', '1700000000');
  assert.is(familyCacheEntry('disk', repro, stamp), undefined);
});

test('build --site: one ISO stage per site, the first made in full, the others by xorriso alone, each its own ids', async () => {
  const p = withSites(await plan(['iso', 'qcow2']), ['dc1', 'dc2', 'dc3']);
  assert.equal(
    p.stages.map((s) => s.stage),
    ['rootfs', 'configure', 'live', 'iso:dc1', 'iso:dc2', 'iso:dc3', 'disk', 'qcow2'],
  );
  const isos = p.stages.filter((s) => s.site);
  assert.equal(
    isos.map((s) => [s.site, s.output, s.format]),
    [
      ['dc1', 'p-dc1.iso', 'iso'],
      ['dc2', 'p-dc2.iso', 'iso'],
      ['dc3', 'p-dc3.iso', 'iso'],
    ],
  );
  assert.match(isos[0]!.describe, /^live ISO: .* of site dc1$/);
  assert.match(
    isos[1]!.describe,
    /^site dc2: the first site's ISO tree with this site's config drive \(xorriso only\)$/,
  );
  // every site's ISO gets its own GPT GUID (derived from the site), so no two are the same disk
  const guid = (c: readonly string[]) => c[c.indexOf('--gpt_disk_guid') + 1];
  const guids = isos.map((s) => guid(s.commands![0]!));
  assert.is(new Set(guids).size, 3);
  // without sites, the plan is as before
  assert.equal(withSites(p, []), p);
});

test('build --site: refused for a profile without an ISO, or a site given twice', async () => {
  const qcow2 = await plan(['qcow2']);
  assert.throws(
    () => withSites(qcow2, ['dc1']),
    /--site makes one ISO per site, and profile p makes no ISO \(formats: qcow2\)/,
  );
  const iso = await plan(['iso']);
  assert.throws(() => withSites(iso, ['dc1', 'dc2', 'dc1']), /--site dc1 is given twice/);
});

test.run();
