import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type BuildOptions, planBuild, spaceFolders } from './build.ts';
import { bundleJobs, checkBundleNames } from './bundle.ts';
import { preflight } from './doctor.ts';
import { UserError } from './errors.ts';
import { ensureArchiveKeyring, keyringsDir } from './keys/archive-keyring.ts';
import { keysDir, repoKeyResolver } from './keys/repo-keys.ts';
import { silentLogger } from './log.ts';
import { processRunner, type Runner } from './run/runner.ts';
import { checkSigningKey } from './sign.ts';
import { checkSpace, type Folder } from './space.ts';
import { readConfigDrive } from './stages/iso.ts';
import { chooseBlockDevice } from './sys/blockdev.ts';

/**
 * Every check of a build's inputs that can be made before anything is written: flags, files
 * named by flags, every profile of the bundle, host tools, root, free space, the distro keyring
 * and the signing key. `ib-native build` runs it first, so a typo writes no log file, no cache
 * entry and no output folder. Returns the profiles' resolved names.
 */
export async function checkBuildInputs(
  builds: readonly BuildOptions[],
  runner: Runner = processRunner({ logger: silentLogger }),
): Promise<string[]> {
  const names: string[] = [];
  const first = builds[0];
  if (!first) return names;
  checkFolderFlag('--output', first.outputDir);
  checkFolderFlag('--cache-dir', first.cacheDir);
  if (first.maxAgeDays !== undefined && !(Number.isFinite(first.maxAgeDays) && first.maxAgeDays >= 0))
    throw new UserError(
      `--max-age must be a number of days (0 or more), got ${first.maxAgeDays}`,
      'for example --max-age 7; --refresh rebuilds the rootfs whatever its age',
    );
  checkUrlFlag('--mirror', first.overrides.mirror, ['http:', 'https:', 'file:']);
  for (const m of first.fallbackMirrors ?? [])
    checkUrlFlag('--mirror-fallback', m, ['http:', 'https:', 'file:']);
  checkUrlFlag('--proxy', first.netEnv?.http_proxy, ['http:', 'https:']);
  readConfigDrive({ userData: first.userData, metaData: first.metaData, networkData: first.networkData });
  const space: Folder[] = [];
  for (const b of builds) {
    // repo keys: checked, and pinned ones downloaded (cached only once their fingerprint matched)
    const keys = repoKeyResolver({ runner, dir: keysDir(b.cacheDir), env: b.netEnv, refresh: b.refresh });
    const plan = await planBuild(b.profile, b.overrides, process.cwd(), b.bootstrapper, keys);
    names.push(plan.profile.name);
    preflight({ formats: plan.profile.formats, bootstrapper: plan.rootfs.bootstrapper, requireRoot: true });
    space.push(...spaceFolders(plan, b));
    if (plan.profile.formats.includes('qcow2')) chooseBlockDevice(b.blockDevice);
    const cached = existsSync(path.join(b.cacheDir, 'rootfs', plan.rootfsKey, 'entry.json'));
    const bootstraps = b.noCache || b.refresh || !cached;
    // the host's archive keyring, or one obtained from the archive and checked against the pinned keys
    if (bootstraps)
      await ensureArchiveKeyring(plan.distro, { runner, dir: keyringsDir(b.cacheDir), env: b.netEnv });
  }
  checkBundleNames(names);
  bundleJobs(builds.length, 1, first.jobs);
  // a bundle's builds add up: every image stays in the output folder, every new entry in the cache
  checkSpace(space);
  if (first.signKey !== undefined) await checkSigningKey(runner, first.signKey);
  return names;
}

/** A folder flag must name a folder, or a path that can become one (no file on the way). */
export function checkFolderFlag(flag: string, dir: string): void {
  let d = path.resolve(dir);
  for (;;) {
    if (existsSync(d)) {
      if (!statSync(d).isDirectory())
        throw new UserError(
          d === path.resolve(dir)
            ? `${flag} ${dir} is a file, not a folder`
            : `${flag} ${dir} cannot be created: ${d} is a file`,
          `give ${flag} a folder (it is created when missing)`,
        );
      return;
    }
    const parent = path.dirname(d);
    if (parent === d) return;
    d = parent;
  }
}

function checkUrlFlag(flag: string, value: string | undefined, schemes: readonly string[]): void {
  if (value === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !schemes.includes(url.protocol))
    throw new UserError(
      `${flag} "${value}" is not a ${schemes.map((s) => s.replace(':', '')).join(', ')} URL`,
      flag.startsWith('--mirror')
        ? 'for example --mirror http://deb.debian.org/debian or file:///srv/mirror'
        : 'for example --proxy http://proxy.example:3128 (it defaults to $http_proxy)',
    );
}
