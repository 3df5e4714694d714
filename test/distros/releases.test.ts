/**
 * The release matrix (`npm run test:distros [jammy,noble,...]`): for each release of the registry,
 * build `minimal` (ISO + QCOW2) and boot the QCOW2 with BIOS and UEFI and the ISO with BIOS to
 * `login:`, reading /etc/os-release from the running machine (cloud-init prints it on the serial
 * console). Timings and sizes go to test/distros/results.json and the README's distros section.
 * A release whose archive does not answer (dists/<suite>/InRelease) is skipped with the reason.
 *
 * Environment: IB_NATIVE_DISTROS (comma list, `jammy` or `ubuntu-jammy`; set by test/run.ts from
 * its filter), IB_NATIVE_TEST_BOOTSTRAPPER (default: the engine's), IB_NATIVE_DISTROS_WARM=1 to
 * reuse a cached rootfs (default: rebuilt, so the rootfs time is a cold one), IB_NATIVE_BOOT_TIMEOUT.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DISTRO_NAMES, getDistro } from '../../src/distro/index.ts';
import { archiveProblem } from '../helpers/archive.ts';
import { cli, REPO, SCRATCH } from '../helpers/host.ts';
import { BOOTS, mergeResults, type ReleaseResult, renderTable, replaceSection } from './report.ts';

const RESULTS = path.join(REPO, 'test/distros/results.json');
const README = path.join(REPO, 'README.md');
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '900';
const MARK = 'IBN-OS';
const USER_DATA = `#cloud-config
runcmd:
  - [ sh, -c, '. /etc/os-release; echo "${MARK} $ID $VERSION_ID $VERSION_CODENAME" > /dev/ttyS0' ]
`;

/** The releases asked for (all when none), by full or short name. */
export function selected(spec = process.env.IB_NATIVE_DISTROS ?? ''): string[] {
  const asked = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!asked.length) return [...DISTRO_NAMES];
  return asked.map((a) => {
    const name = DISTRO_NAMES.find((n) => n === a || n.split('-')[1] === a);
    if (!name)
      throw new Error(`IB_NATIVE_DISTROS: unknown release "${a}" (one of ${DISTRO_NAMES.join(', ')})`);
    return name;
  });
}

const run: ReleaseResult[] = [];
// one suite, tests in order: uvu runs separate suites at the same time, which made every release
// build and boot at once on the same cores
const matrix = suite('releases');

for (const name of selected()) {
  const d = getDistro(name);
  const dir = path.join(SCRATCH, 'distros', name);
  const out = path.join(dir, 'out');
  const result: ReleaseResult = { distro: name, date: '', status: 'passed', boots: {} };
  run.push(result);
  const s = (step: string, fn: () => Promise<void>) => matrix(`${name}: ${step}`, fn);
  const fail = (why: string) => {
    if (result.status === 'passed') Object.assign(result, { status: 'failed', reason: why });
  };
  const problem = await archiveProblem(d);
  const steps = [
    'builds minimal (ISO + QCOW2)',
    ...BOOTS.map((b) => `${b}: boots to login: and shows its os-release`),
  ];
  if (problem) {
    Object.assign(result, { status: 'skipped', reason: problem, date: new Date().toISOString() });
    process.stdout.write(`SKIPPED ${name}: ${problem}\n`);
    for (const step of steps) matrix.skip(`${name}: ${step}`, () => undefined);
    continue;
  }

  s(steps[0]!, async () => {
    result.date = new Date().toISOString();
    result.load = loadavg()[0];
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(dir, 'user_data'), USER_DATA);
    const bootstrapper = process.env.IB_NATIVE_TEST_BOOTSTRAPPER;
    const t0 = Date.now();
    const r = await cli([
      'build',
      '--json',
      '--profile',
      'minimal',
      '--distro',
      name,
      '--format',
      'iso,qcow2',
      '--output',
      out,
      '--user-data',
      path.join(dir, 'user_data'),
      ...(process.env.IB_NATIVE_DISTROS_WARM ? [] : ['--refresh']),
      ...(bootstrapper ? ['--bootstrapper', bootstrapper] : []),
    ]);
    result.buildSeconds = (Date.now() - t0) / 1000;
    writeFileSync(path.join(dir, 'build.log'), r.all);
    if (r.exitCode !== 0) {
      const lines = r.stderr.split('\n');
      fail(`build exit ${r.exitCode}: ${lines.find((l) => l.startsWith('error: ')) ?? lines.at(-2) ?? ''}`);
    }
    assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; stage?: string; seconds?: number; cacheHit?: boolean });
    const rootfs = events.find((e) => e.type === 'stage-end' && e.stage === 'rootfs');
    assert.ok(rootfs, 'no rootfs stage-end event');
    result.rootfsSeconds = rootfs!.seconds;
    result.rootfsCold = !rootfs!.cacheHit;
    const planned = events.find((e) => e.type === 'planned') as { distro?: string } | undefined;
    assert.is(planned?.distro, name);
    const manifest = JSON.parse(readFileSync(path.join(out, 'minimal.manifest.json'), 'utf8'));
    result.bootstrapper = bootstrapper ?? manifest.bootstrapper ?? undefined;
    assert.is(manifest.profile.distro, name);
    result.isoBytes = statSync(path.join(out, 'minimal.iso')).size;
    result.qcow2Bytes = statSync(path.join(out, 'minimal.qcow2')).size;
  });

  for (const boot of BOOTS) {
    s(`${boot}: boots to login: and shows its os-release`, async () => {
      const [format, firmware] = boot.split('-') as ['qcow2' | 'iso', 'bios' | 'uefi'];
      const image = path.join(out, `minimal.${format}`);
      if (!existsSync(image)) fail(`${boot}: no image`);
      assert.ok(existsSync(image), `${image} missing: the build failed`);
      const seed = path.join(dir, 'seed');
      mkdirSync(seed, { recursive: true });
      writeFileSync(path.join(seed, 'user-data'), USER_DATA);
      const log = path.join(dir, `${boot}.console`);
      const r = await cli([
        'boot',
        image,
        // UEFI boots have Secure Boot enforced: the release's signed chain (issue 14)
        ...(firmware === 'uefi' ? ['--secure-boot'] : ['--firmware', firmware]),
        '--timeout',
        TIMEOUT,
        '--console-log',
        log,
        '--expect',
        MARK,
        ...(format === 'qcow2' ? ['--seed', seed] : []),
      ]);
      if (r.exitCode !== 0) fail(`${boot}: boot exit ${r.exitCode}`);
      assert.is(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
      const seconds = /login: reached in (\d+(?:\.\d+)?) s/.exec(r.stdout);
      assert.ok(seconds, `no boot time in:\n${r.stdout}`);
      result.boots[boot] = Number(seconds![1]);
      const os = new RegExp(`${MARK} (\\S+) (\\S+) (\\S+)`).exec(readFileSync(log, 'utf8'));
      if (!os) fail(`${boot}: the os-release line is not on the console`);
      assert.ok(os, 'the os-release line is not on the console');
      const [, id, version, codename] = os!;
      if (id !== d.family || codename !== d.suite) fail(`${boot}: booted ${id} ${codename}`);
      assert.is(id, d.family, 'booted another distribution');
      assert.is(codename, d.suite, 'booted another release');
      result.osRelease = `${id} ${version} ${codename}`;
    });
  }
}

matrix('results are written to test/distros/results.json and the README table', () => {
  const old: ReleaseResult[] = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : [];
  const all = mergeResults(old, run);
  writeFileSync(RESULTS, `${JSON.stringify(all, null, 2)}\n`);
  const table = renderTable(all, DISTRO_NAMES);
  writeFileSync(README, replaceSection(readFileSync(README, 'utf8'), table));
  process.stdout.write(`${table}\n`);
  for (const r of run) assert.ok(readFileSync(README, 'utf8').includes(`| ${r.distro} | `), r.distro);
});
matrix.run();
