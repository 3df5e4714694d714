import path from 'node:path';
import { bootImage } from './boot/index.ts';
import { defaultCacheDir, planBuild } from './build.ts';
import { Cache } from './cache/store.ts';
import { displayMode, openDisplay } from './display/index.ts';
import { DISTROS } from './distro/index.ts';
import { checkHost, formatBytes, formatDoctorReport } from './doctor.ts';
import { EXIT, hintOf } from './errors.ts';
import { ensureArchiveKeyring, hostKeyringPath, keyringsDir } from './keys/archive-keyring.ts';
import { type KeyResolver, keysDir, repoKeyResolver } from './keys/repo-keys.ts';
import { silentLogger } from './log.ts';
import { describeOp } from './ops/apply.ts';
import { publicOp, publicProfile } from './profile/public.ts';
import type { DistroName, Format } from './profile/schema.ts';
import { netEnv } from './proxy.ts';
import { BuildReporter } from './reporter.ts';
import { processRunner } from './run/runner.ts';
import { describeQcow2Compression, qcow2Compression } from './stages/qcow2.ts';
import { aptSources, installSet } from './stages/rootfs.ts';

/** Subcommands other than build: each returns the exit code; printing happens here, exiting in cli.ts. */

/**
 * Repo keys for commands that plan without building (plan, diff): checked, pinned ones downloaded
 * through the environment's proxy into the cache (or a private temporary folder when the cache
 * cannot be written).
 */
export function checkedKeys(cacheDir = defaultCacheDir()): KeyResolver {
  return repoKeyResolver({
    runner: processRunner({ logger: silentLogger }),
    dir: keysDir(cacheDir),
    env: netEnv({}),
  });
}

export async function planCommand(o: {
  profile: string;
  /** Where pinned repo keys are cached once downloaded. */
  cacheDir?: string;
  distro?: DistroName;
  formats?: Format[];
  mirror?: string;
  mirrors?: Record<string, string>;
  json: boolean;
}): Promise<number> {
  const plan = await planBuild(
    o.profile,
    { distro: o.distro, formats: o.formats, mirror: o.mirror, mirrors: o.mirrors },
    process.cwd(),
    undefined,
    checkedKeys(o.cacheDir),
  );
  const sources = aptSources(plan.rootfs);
  const { profile } = plan;
  for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
  const stages = [
    {
      stage: 'rootfs',
      key: plan.rootfsKey,
      bootstrapper: plan.rootfs.bootstrapper,
      distro: plan.distro.name,
      mirror: plan.distro.mirror,
      sources: sources.map(({ name, uris, suites, components }) => ({ name, uris, suites, components })),
      packages: installSet(plan.rootfs),
      repos: plan.rootfs.repos.map((r) => r.name),
      blocked: plan.rootfs.blockedPackages,
    },
    { stage: 'configure', operations: plan.ops.map((op) => ({ ...publicOp(op), describe: describeOp(op) })) },
    ...profile.formats.map((f) => ({
      stage: f,
      ...(f === 'qcow2' && plan.layout ? { disk: plan.layout } : {}),
    })),
  ];
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ profile: publicProfile(profile), stages }, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(
    `profile ${profile.name} (${profile.sources.map((s) => path.relative(process.cwd(), s)).join(' <- ')})`,
  );
  out.push(`distro ${plan.distro.name}; formats ${profile.formats.join(', ')}`);
  out.push('apt sources:');
  for (const s of sources)
    out.push(`   ${s.name}: ${s.uris} ${s.suites.join(' ')} (${s.components.join(' ')})`);
  out.push(
    '',
    `1. rootfs [key ${plan.rootfsKey}] ${plan.rootfs.bootstrapper}, then one apt transaction of ${installSet(plan.rootfs).length} packages:`,
  );
  out.push(`   ${installSet(plan.rootfs).join(' ')}`);
  if (plan.rootfs.blockedPackages.length) out.push(`   blocked: ${plan.rootfs.blockedPackages.join(' ')}`);
  out.push('', `2. configure: ${plan.ops.length} operations`);
  for (const op of plan.ops)
    out.push(
      `   [${op.module}${op.contexts.join(',') === 'common' ? '' : ` @${op.contexts.join(',')}`}] ${describeOp(op)}`,
    );
  let n = 3;
  for (const f of profile.formats) {
    out.push('');
    if (f === 'iso')
      out.push(`${n++}. iso: mksquashfs, grub (BIOS+UEFI), xorriso -> ${profile.name}.iso (volume config-2)`);
    else {
      out.push(
        `${n++}. qcow2: ${formatBytes(plan.layout!.sizeBytes)} GPT disk, grub (BIOS+UEFI), qemu-img convert (${describeQcow2Compression(qcow2Compression(profile.qcow2))}) -> ${profile.name}.qcow2`,
      );
      for (const p of plan.layout!.partitions)
        out.push(
          `   ${p.number}. ${p.name.padEnd(6)} ${p.start}-${p.end} ${p.filesystem}${p.mountpoint ? ` ${p.mountpoint}` : ''}${p.flags.length ? ` [${p.flags.join(',')}]` : ''}`,
        );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

export async function doctorCommand(cacheDir = defaultCacheDir()): Promise<number> {
  const report = checkHost({ boot: true, inspect: true, dir: '/var/cache' });
  process.stdout.write(formatDoctorReport(report));
  process.stdout.write(await archiveKeyringReport(cacheDir));
  return report.missingRequired.length ? EXIT.hostNotReady : EXIT.ok;
}

/**
 * Each distro's archive keyring: the host's, or obtained now from the archive (pinned keys, see
 * src/keys/archive-keyring.ts) into the cache. A keyring that cannot be obtained is reported, not
 * fatal: only builds of that distro need it.
 */
async function archiveKeyringReport(cacheDir: string): Promise<string> {
  const runner = processRunner({ logger: silentLogger });
  const lines = ['', 'archive keyrings:'];
  for (const d of Object.values(DISTROS)) {
    let where: string;
    try {
      const k = await ensureArchiveKeyring(d, { runner, dir: keyringsDir(cacheDir), env: netEnv({}) });
      where =
        k === hostKeyringPath(d)
          ? `${k} (host)`
          : `${k} (from the archive's ${d.archiveKeyring?.package}, pinned keys only)`;
    } catch (e) {
      where = `MISSING (needed to build ${d.name}): ${(e as Error).message}${hintOf(e) ? `; ${hintOf(e)}` : ''}`;
    }
    lines.push(`  ${d.name.padEnd(16)} ${where}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function bootCommand(o: {
  image: string;
  firmware: 'bios' | 'uefi';
  timeoutSec: number;
  seedDir?: string;
  expect: string[];
  consoleLog?: string;
  memoryMiB: number;
  verbose: boolean;
  /** Attach the serial console to this terminal instead of waiting for login:. */
  console?: boolean;
}): Promise<number> {
  // the serial console owns the terminal: no live display redrawing over it
  const isTTY = Boolean(process.stderr.isTTY) && !o.console;
  const display = openDisplay(displayMode({ isTTY, env: process.env }), { verbose: o.verbose });
  const logger = new BuildReporter({
    profile: path.basename(o.image),
    sink: display.sink,
    verbose: o.verbose,
  });
  const runner = processRunner({ logger });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (o.console) {
      const { attachConsole } = await import('./boot/attach.ts');
      const end = await attachConsole(runner, { ...o, logger, signal: controller.signal });
      process.stdout.write(
        end.how === 'detached'
          ? '\r\n*** detached: QEMU stopped, throw-away files removed\n'
          : '\r\n*** the guest powered off; QEMU exited\n',
      );
      return 0;
    }
    const r = await logger.timed('boot', () =>
      bootImage(runner, {
        ...o,
        logger,
        signal: controller.signal,
        onWait: (seconds, timeout) =>
          logger.progress({
            step: 'waiting for login:',
            fraction: Math.min(1, seconds / timeout),
            done: seconds,
            total: timeout,
            unit: 's',
          }),
      }),
    );
    display.close();
    process.stdout.write(`login: reached in ${r.seconds.toFixed(1)} s\n`);
    return 0;
  } finally {
    display.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export async function cacheCommand(o: {
  action: 'list' | 'prune';
  cacheDir: string;
  olderThan?: number;
  all: boolean;
}): Promise<number> {
  const cache = new Cache(o.cacheDir, processRunner({ logger: silentLogger }), silentLogger);
  if (o.action === 'list') {
    const rows = cache.list();
    if (!rows.length) process.stdout.write(`cache ${o.cacheDir} is empty\n`);
    for (const e of rows)
      process.stdout.write(
        `${e.kind.padEnd(8)} ${e.key}  ${formatBytes(e.bytes).padStart(9)}  ${e.ageDays.toFixed(1).padStart(5)} days  ${e.summary}  used by: ${e.usedBy.join(', ')}\n`,
      );
    return 0;
  }
  if (!o.all && o.olderThan === undefined) {
    process.stderr.write('error: cache prune needs --older-than DAYS or --all\n');
    return 2;
  }
  const { removed, kept } = await cache.prune({ olderThanDays: o.olderThan, all: o.all });
  process.stdout.write(removed.length ? `removed: ${removed.join(', ')}\n` : 'nothing to remove\n');
  for (const k of kept) process.stdout.write(`${k}\n`);
  return 0;
}
