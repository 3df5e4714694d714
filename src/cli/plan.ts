import path from 'node:path';
import { planBuild } from '../build.ts';
import { defaultCacheDir } from '../cache/store.ts';
import { formatBytes } from '../doctor.ts';
import { type KeyResolver, keysDir, repoKeyResolver } from '../keys/repo-keys.ts';
import { silentLogger } from '../log.ts';
import { buildMatrix } from '../matrix.ts';
import { describeOp } from '../ops/apply.ts';
import { publicOp } from '../ops/public.ts';
import { publicProfile } from '../profile/public.ts';
import type { DistroName, Format } from '../profile/schema.ts';
import { netEnv } from '../proxy.ts';
import { processRunner } from '../run/runner.ts';
import { aptSources, installSet } from '../stages/rootfs.ts';

/** `ib-native plan`: returns the exit code; printing happens here, exiting in main.ts. */

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
  // the build's own steps (`build` runs exactly these), each with what a reader needs to check it
  const stages = plan.stages.map((st) => {
    if (st.stage === 'rootfs')
      return {
        ...st,
        bootstrapper: plan.rootfs.bootstrapper,
        distro: plan.distro.name,
        mirror: plan.distro.mirror,
        sources: sources.map(({ name, uris, suites, components }) => ({ name, uris, suites, components })),
        packages: installSet(plan.rootfs),
        repos: plan.rootfs.repos.map((r) => r.name),
        blocked: plan.rootfs.blockedPackages,
      };
    if (st.stage === 'configure')
      return { ...st, operations: plan.ops.map((op) => ({ ...publicOp(op), describe: describeOp(op) })) };
    if (st.stage === 'disk' && !st.format) return { ...st, disk: plan.layout };
    return st;
  });
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
  for (const st of plan.stages.filter((x) => x.family)) {
    out.push('');
    out.push(`${n++}. ${st.stage}: ${st.describe}${st.output ? ` -> ${st.output}` : ''}`);
    if (st.stage === 'disk' && plan.layout) {
      out.push(`   ${formatBytes(plan.layout.sizeBytes)} GPT disk, GRUB for BIOS and UEFI`);
      for (const p of plan.layout.partitions)
        out.push(
          `   ${p.number}. ${p.name.padEnd(6)} ${p.start}-${p.end} ${p.filesystem}${p.mountpoint ? ` ${p.mountpoint}` : ''}${p.flags.length ? ` [${p.flags.join(',')}]` : ''}`,
        );
    }
    for (const c of st.commands ?? []) out.push(`   $ ${c.join(' ')}`);
    if (st.unless) out.push(`   (skipped when ${st.unless})`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `ib-native plan --matrix`: the build units of profiles x distros x formats, for CI or Kubernetes runners. */
export async function planMatrixCommand(o: {
  profiles: string[];
  /** Empty: each profile's own distro. */
  distros: DistroName[];
  cacheDir?: string;
  formats?: Format[];
  mirror?: string;
  mirrors?: Record<string, string>;
  json: boolean;
}): Promise<number> {
  const keys = checkedKeys(o.cacheDir);
  const plans: { ref: string; plan: Awaited<ReturnType<typeof planBuild>> }[] = [];
  for (const ref of o.profiles)
    for (const distro of o.distros.length ? o.distros : [undefined]) {
      const overrides = { distro, formats: o.formats, mirror: o.mirror, mirrors: o.mirrors };
      const plan = await planBuild(ref, overrides, process.cwd(), undefined, keys);
      for (const w of plan.warnings) process.stderr.write(`warning: ${plan.profile.name}: ${w}\n`);
      plans.push({ ref, plan });
    }
  const matrix = buildMatrix(plans);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(matrix, null, 2)}\n`);
    return 0;
  }
  const out = [`${matrix.units.length} units from ${matrix.rootfs.length} rootfs`];
  const width = Math.max(...matrix.units.map((u) => u.id.length));
  for (const g of matrix.rootfs) {
    out.push('', `rootfs ${g.rootfsKey} (${g.distro}): ${g.units.length} unit(s)`);
    for (const id of g.units) {
      const u = matrix.units.find((x) => x.id === id)!;
      out.push(`  ${u.id.padEnd(width)}  ib-native ${u.argv.join(' ')}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
