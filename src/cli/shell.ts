import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { planBuild, spaceFolders } from '../build.ts';
import { Cache } from '../cache/store.ts';
import { preflight } from '../doctor.ts';
import { InterruptedError, UserError } from '../errors.ts';
import { keysDir, repoKeyResolver } from '../keys/repo-keys.ts';
import { consoleLogger, silentLogger } from '../log.ts';
import { familyOf } from '../profile/formats.ts';
import type { DistroName, Format } from '../profile/schema.ts';
import { proxySecrets } from '../proxy.ts';
import { interruptibleRunner } from '../run/interrupt.ts';
import { processRunner } from '../run/runner.ts';
import { openShell } from '../shell/shell.ts';
import { checkSpace } from '../space.ts';
import type { Chroot } from '../stages/chroot.ts';
import {
  applyCommonLayer,
  applyContext,
  applyFamilyLayer,
  obtainRootfs,
  withLayer,
} from '../stages/configure.ts';
import { removeTree } from '../sys/files.ts';
import { processTerminal, type UserTerminal } from '../tty/terminal.ts';

/** `ib-native shell`: a shell in a profile's configured tree (the shell itself: src/shell/shell.ts). */

export interface ShellCommandOptions {
  profile: string;
  distro?: DistroName;
  /** Also apply this image's layer and finalize, as the image has them. */
  format?: Format;
  mirror?: string;
  /** --suite-mirror: per-suite archives. */
  mirrors?: Record<string, string>;
  cacheDir: string;
  netEnv: Record<string, string>;
  verbose: boolean;
  terminal?: UserTerminal;
}

/**
 * Plans the profile, obtains its rootfs (building it when missing), mounts the configuration
 * layer(s), applies the operations as a build does, and opens the shell there. Runs as root, inside
 * the private mount namespace; returns the shell's exit status.
 */
export async function shellCommand(o: ShellCommandOptions): Promise<number> {
  const term = o.terminal ?? processTerminal();
  if (!term.input.isTTY)
    throw new UserError(
      'ib-native shell needs a terminal: its standard input is not one',
      'run it from an interactive terminal (over ssh: ssh -t)',
    );
  const plan = await planBuild(
    o.profile,
    { distro: o.distro, formats: o.format ? [o.format] : undefined, mirror: o.mirror, mirrors: o.mirrors },
    process.cwd(),
    undefined,
    repoKeyResolver({
      runner: processRunner({ logger: silentLogger }),
      dir: keysDir(o.cacheDir),
      env: o.netEnv,
    }),
  );
  preflight({ stages: ['rootfs', 'configure'], requireRoot: true });
  // the shell writes only into the cache folder (a rootfs when missing, its work folder)
  checkSpace(
    spaceFolders(plan, {
      profile: o.profile,
      overrides: {},
      outputDir: o.cacheDir,
      cacheDir: o.cacheDir,
    }).filter((f) => f.flag === '--cache-dir'),
  );
  mkdirSync(path.join(o.cacheDir, 'logs'), { recursive: true });
  const logFile = path.join(
    o.cacheDir,
    'logs',
    `shell-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`,
  );
  const logger = consoleLogger({ verbose: o.verbose, file: logFile, secrets: proxySecrets(o.netEnv) });
  const { runner, interrupted, release } = interruptibleRunner(logger);
  const deps = { runner, logger };
  const cache = new Cache(o.cacheDir, runner, logger);
  const work = path.join(o.cacheDir, 'work', `shell-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  const { profile } = plan;
  const stopIfInterrupted = () => {
    const sig = interrupted();
    if (sig) throw new InterruptedError(sig);
  };
  const shell = async (chroot: Chroot, layersNote: string) => {
    stopIfInterrupted();
    const status = await openShell({
      tree: chroot.root,
      chroot,
      ...deps,
      netEnv: o.netEnv,
      label: `ib-native:${profile.name}`,
      banner: {
        lines: [`ib-native shell: ${profile.name} (${plan.distro.name}), ${layersNote}`],
        after: 'Leave with `exit` or Ctrl-D.',
      },
      terminal: term,
    });
    stopIfInterrupted(); // hung up by a signal: report the interruption, not the shell's status
    return status;
  };
  // the rootfs (and the package cache) stay leased to the session: `cache prune` keeps them
  await cache.useShared(`shell ${plan.profile.name}`);
  try {
    const { tree: rootfs } = await obtainRootfs(cache, plan, { netEnv: o.netEnv }, deps);
    const layers = path.join(work, 'layers');
    const actx = applyContext(deps, o.netEnv);
    const layerDeps = { ...deps, netEnv: o.netEnv };
    const format = o.format;
    const family = format ? familyOf(format) : undefined;
    const status = await withLayer(layerDeps, layers, 'common', [rootfs], (_merged, inChroot) =>
      inChroot(async (chroot) => {
        await applyCommonLayer(plan.ops, { ...actx, chroot });
        return format ? undefined : shell(chroot, 'common configuration layer');
      }),
    );
    if (!format || !family) return status!;
    const lower = [path.join(layers, 'common', 'upper'), rootfs];
    return await withLayer(layerDeps, layers, family, lower, (_merged, inChroot) =>
      inChroot(async (chroot) => {
        await applyFamilyLayer(plan.ops, family, { ...actx, chroot });
        return shell(chroot, `common and ${family} layers, finalized as in the ${format} image`);
      }),
    );
  } finally {
    release();
    cache.release();
    await removeTree(runner, work).catch((e) =>
      logger.warn(`could not remove ${work}: ${(e as Error).message}`),
    );
  }
}
