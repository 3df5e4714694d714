/**
 * npm run bench — measures ib-native against the raw tools it drives (a script, not a test).
 *
 * On debian-bookworm with the `minimal` profile it runs, each in a fresh cache:
 *   1. cold build (empty stage cache, empty package cache), ISO + QCOW2
 *   2. cold build with a warm package cache
 *   3. warm rebuilds after a config-only change (one sysctl value): the ISO, the first QCOW2 of
 *      the rootfs (which makes the base disk and base QCOW2), then the QCOW2 again
 *   4. the raw tools alone on the same work: the bootstrapper + one apt transaction in a
 *      chroot, mksquashfs of the same tree, qemu-img convert of the same disk
 * and prints a table and JSON (also written to bench/results.json).
 * Needs root; re-executes itself in a private mount namespace like the CLI.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Bootstrapper, build } from '../src/build.ts';
import { silentLogger } from '../src/log.ts';
import { processRunner } from '../src/run/runner.ts';

import { machine, startBench } from './common.ts';

const ROOT = process.env.IB_NATIVE_BENCH_DIR ?? '/var/tmp/ib-native-bench';
const DISTRO = 'debian-bookworm' as const;
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

interface Run {
  name: string;
  wall: number;
  stages: Record<string, number>;
  tools: number;
  engine: number;
}

async function timedBuild(
  name: string,
  cacheDir: string,
  profile: string,
  formats: ('iso' | 'qcow2')[],
  bootstrapper: Bootstrapper = 'debootstrap',
): Promise<Run> {
  const runner = processRunner({ logger: silentLogger });
  const t0 = Date.now();
  const r = await build(
    {
      profile,
      bootstrapper,
      overrides: { distro: DISTRO, formats },
      outputDir: path.join(ROOT, 'out', name),
      cacheDir,
    },
    { runner, logger: silentLogger },
  );
  const wall = (Date.now() - t0) / 1000;
  const tools = [...runner.toolTime.values()].reduce((a, b) => a + b, 0) / 1000;
  process.stderr.write(`  ${name}: ${wall.toFixed(1)} s\n`);
  return { name, wall, stages: r.stages, tools, engine: Math.max(0, wall - tools) };
}

/** One raw tool run; a failure is recorded (and reported), not fatal to the benchmark. */
async function rawTool(
  name: string,
  argv: string[],
): Promise<{ name: string; wall: number; failed?: string }> {
  const runner = processRunner({ logger: silentLogger });
  const t0 = Date.now();
  try {
    await runner.run(argv, { context: name });
  } catch (e) {
    const failed = (e as Error).message.split('\n').slice(0, 2).join(' ');
    process.stderr.write(`  raw ${name}: FAILED (${failed})\n`);
    return { name, wall: (Date.now() - t0) / 1000, failed };
  }
  const wall = (Date.now() - t0) / 1000;
  process.stderr.write(`  raw ${name}: ${wall.toFixed(1)} s\n`);
  return { name, wall };
}

async function main(): Promise<number> {
  const stop = await startBench('bench', ROOT);
  if (stop !== undefined) return stop;
  const coldCache = path.join(ROOT, 'cache-cold');
  const warmCache = path.join(ROOT, 'cache-warm-packages');
  const mmCache = path.join(ROOT, 'cache-warm-packages-mmdebstrap');
  const runs: Run[] = [];

  runs.push(await timedBuild('cold', coldCache, 'minimal', ['iso', 'qcow2']));
  mkdirSync(path.join(warmCache, 'packages'), { recursive: true });
  cpSync(path.join(coldCache, 'packages'), path.join(warmCache, 'packages'), { recursive: true });
  runs.push(await timedBuild('cold-warm-packages', warmCache, 'minimal', ['iso', 'qcow2']));
  // the same package set through the other bootstrapper, same warm package cache: picks the default
  mkdirSync(path.join(mmCache, 'packages'), { recursive: true });
  cpSync(path.join(coldCache, 'packages'), path.join(mmCache, 'packages'), { recursive: true });
  runs.push(await timedBuild('cold-warm-packages-mmdebstrap', mmCache, 'minimal', ['iso'], 'mmdebstrap'));
  rmSync(mmCache, { recursive: true, force: true });

  /** minimal with one sysctl value changed: a config-only change. */
  const changed = (n: number) => {
    const file = path.join(ROOT, `bench-changed-${n}.ts`);
    writeFileSync(
      file,
      `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: 'minimal', extends: '${path.join(REPO, 'profiles/minimal.ts')}', sysctl: { 'kernel.pid_max': '${100000 + n * 1000 + (Date.now() % 1000)}' } });\n`,
    );
    return file;
  };
  runs.push(await timedBuild('warm-iso', warmCache, changed(1), ['iso']));
  // the first QCOW2 after the cold build makes the base disk and the base QCOW2 (once per rootfs);
  // every later config-only change is the warm QCOW2 the ratio is about
  runs.push(await timedBuild('first-qcow2-of-rootfs', warmCache, changed(2), ['qcow2']));
  runs.push(await timedBuild('warm-qcow2', warmCache, changed(3), ['qcow2']));

  // raw tools on the same work
  const { readdirSync } = await import('node:fs');
  const rootfsDir = path.join(
    warmCache,
    'rootfs',
    readdirSync(path.join(warmCache, 'rootfs')).find((n) => !n.startsWith('.'))!,
  );
  const diskDir = path.join(
    warmCache,
    'disk',
    readdirSync(path.join(warmCache, 'disk')).find((n) => !n.startsWith('.'))!,
  );
  const raws = [];
  const scratch = path.join(ROOT, 'raw');
  mkdirSync(scratch, { recursive: true });
  // the raw tools with exactly the arguments the engine gives them
  const { mksquashfsArgv } = await import('../src/stages/iso.ts');
  const { qemuImgConvertArgv } = await import('../src/stages/disk.ts');
  raws.push(
    await rawTool(
      'mksquashfs',
      mksquashfsArgv(path.join(rootfsDir, 'tree'), path.join(scratch, 'fs.squashfs'), {
        compression: 'lz4',
        threads: os.availableParallelism(),
        exclude: ['boot'],
      }),
    ),
  );
  raws.push(
    await rawTool(
      'qemu-img convert',
      qemuImgConvertArgv(path.join(diskDir, 'disk.raw'), path.join(scratch, 'disk.qcow2'), true, 'zstd'),
    ),
  );
  const { installSet } = await import('../src/stages/rootfs.ts');
  const { planBuild } = await import('../src/build.ts');
  const plan = await planBuild('minimal', { distro: DISTRO });
  const pkgs = installSet(plan.rootfs);
  // the bootstrappers alone: debootstrap cannot resolve the whole set in one --include (it has no
  // real dependency solver), so its raw figure is minbase + one chroot apt-get of the same set
  const { aptInstallArgv, mmdebstrapArgv } = await import('../src/stages/rootfs.ts');
  const dbs = path.join(scratch, 'debootstrap');
  const dbsMinbase = await rawTool('debootstrap minbase', [
    'debootstrap',
    '--variant=minbase',
    `--cache-dir=${path.join(warmCache, 'packages')}`,
    'bookworm',
    dbs,
    plan.distro.mirror,
  ]);
  // in a nested private mount namespace, so its proc/sys/dev/cache mounts vanish with it
  const inChroot = [
    'd=$1; pk=$2; shift 2',
    'mount -t proc proc "$d/proc"',
    'mount -t sysfs sys "$d/sys"',
    'mount --rbind /dev "$d/dev"',
    'mount --bind "$pk" "$d/var/cache/apt/archives"',
    'chroot "$d" apt-get -q update',
    'exec chroot "$d" env DEBIAN_FRONTEND=noninteractive "$@"',
  ].join(' && ');
  const dbsApt = await rawTool('chroot apt-get install (same set)', [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    inChroot,
    'sh',
    dbs,
    path.join(warmCache, 'packages'),
    ...aptInstallArgv(pkgs),
  ]);
  raws.push({
    name: 'debootstrap + apt-get (same set)',
    wall: dbsMinbase.wall + dbsApt.wall,
    failed: dbsMinbase.failed ?? dbsApt.failed,
  });
  const mm = mmdebstrapArgv(plan.distro, path.join(scratch, 'mmdebstrap'), path.join(warmCache, 'packages'));
  raws.push(
    await rawTool(
      'mmdebstrap (same set)',
      mm.map((a) => (a === '--include=ca-certificates,gnupg' ? `--include=${pkgs.join(',')}` : a)),
    ),
  );
  rmSync(scratch, { recursive: true, force: true });

  const cold = runs[0]!;
  const coldWarm = runs[1]!;
  // an output's time is its family's stage (layer, base squashfs or raw disk) plus its own
  const FAMILY_OF: Record<string, string> = { iso: 'live', qcow2: 'disk' };
  const stage = (r: Run, s: string) =>
    (r.stages[s] ?? 0) + (FAMILY_OF[s] ? (r.stages[FAMILY_OF[s]] ?? 0) : 0);
  const coldIso =
    stage(coldWarm, 'plan') +
    stage(coldWarm, 'rootfs') +
    stage(coldWarm, 'configure') +
    stage(coldWarm, 'iso');
  const coldQcow =
    stage(coldWarm, 'plan') +
    stage(coldWarm, 'rootfs') +
    stage(coldWarm, 'configure') +
    stage(coldWarm, 'qcow2');
  const mmRun = runs.find((r) => r.name === 'cold-warm-packages-mmdebstrap')!;
  const warmIso = runs.find((r) => r.name === 'warm-iso')!.wall;
  const warmQcow = runs.find((r) => r.name === 'warm-qcow2')!.wall;
  const result = {
    machine: machine(),
    runs,
    raw: raws,
    ratios: {
      warmIsoVsColdIso: warmIso / coldIso,
      warmQcow2VsColdQcow2: warmQcow / coldQcow,
      engineShareOfCold: cold.engine / cold.wall,
      rootfsVsRawDebootstrap: stage(coldWarm, 'rootfs') / raws[2]!.wall,
      rootfsMmdebstrapVsDebootstrap: stage(mmRun, 'rootfs') / stage(coldWarm, 'rootfs'),
      rawMmdebstrapVsDebootstrap: raws[3]!.wall / raws[2]!.wall,
    },
  };
  const rows = [
    ['run', 'wall s', 'rootfs', 'configure', 'iso', 'qcow2', 'in tools s', 'ib-native s'],
    ...runs.map((r) =>
      [
        r.name,
        r.wall,
        stage(r, 'rootfs'),
        stage(r, 'configure'),
        stage(r, 'iso'),
        stage(r, 'qcow2'),
        r.tools,
        r.engine,
      ].map((v) => (typeof v === 'number' ? v.toFixed(1) : v)),
    ),
  ];
  const table = rows.map((r) => `| ${r.join(' | ')} |`);
  table.splice(1, 0, `|${rows[0]!.map(() => '---').join('|')}|`);
  process.stdout.write(
    `${table.join('\n')}\n\nraw tools: ${raws.map((r) => `${r.name} ${r.wall.toFixed(1)} s`).join(', ')}\n`,
  );
  process.stdout.write(
    `warm ISO / cold ISO = ${(result.ratios.warmIsoVsColdIso * 100).toFixed(1)}%, warm QCOW2 / cold QCOW2 = ${(result.ratios.warmQcow2VsColdQcow2 * 100).toFixed(1)}%, ib-native's own share of the cold build = ${(result.ratios.engineShareOfCold * 100).toFixed(1)}%\n`,
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(REPO, 'bench/results.json'), `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
    process.exit(1);
  },
);
