import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type BuildOptions, planBuild, spaceFolders, withSites } from './build.ts';
import { bundleJobs, checkBundleNames } from './bundle.ts';
import { parseCacheRef } from './cache/oci.ts';
import { mirrorUrlProblem } from './distro/mirrors.ts';
import { preflight, realProbe } from './doctor.ts';
import { HostNotReadyError, UserError } from './errors.ts';
import { ensureArchiveKeyring, keyringsDir } from './keys/archive-keyring.ts';
import { keysDir, repoKeyResolver } from './keys/repo-keys.ts';
import { silentLogger } from './log.ts';
import { GRAMMAR } from './profile/schema.ts';
import { processRunner, type Runner } from './run/runner.ts';
import { checkSigningKey } from './sign.ts';
import { checkSpace, type Folder } from './space.ts';
import { qcow2Compression, qemuImgWritesZstd, ZSTD_QEMU_IMG } from './stages/disk.ts';
import { readConfigDrive, readSite } from './stages/iso.ts';
import type { BuildPlan } from './stages/plan.ts';
import { chooseBlockDevice } from './sys/blockdev.ts';

/**
 * Every check of a build's inputs that can be made before anything is written: flags, files
 * named by flags, every profile of the bundle, host tools, root, free space, the distro keyring
 * and the signing key. `ib-native build` runs it first, so a typo writes no log file, no cache
 * entry and no output folder. Returns each build's plan, which the build then runs as it is.
 */
export async function checkBuildInputs(
  builds: readonly BuildOptions[],
  runner: Runner = processRunner({ logger: silentLogger }),
): Promise<BuildPlan[]> {
  const plans: BuildPlan[] = [];
  const first = builds[0];
  if (!first) return plans;
  checkFolderFlag('--output', first.outputDir);
  checkFolderFlag('--cache-dir', first.cacheDir);
  checkCacheDirChars(first.cacheDir);
  if (first.maxAgeDays !== undefined && !(Number.isFinite(first.maxAgeDays) && first.maxAgeDays >= 0))
    throw new UserError(
      `--max-age must be a number of days (0 or more), got ${first.maxAgeDays}`,
      'for example --max-age 7; --refresh rebuilds the rootfs whatever its age',
    );
  checkRemoteCache(first);
  checkMirrorFlag('--mirror', first.overrides.mirror);
  for (const m of first.fallbackMirrors ?? []) checkMirrorFlag('--mirror-fallback', m);
  checkUrlFlag('--proxy', first.netEnv?.http_proxy, ['http:', 'https:']);
  readConfigDrive({ userData: first.userData, metaData: first.metaData, networkData: first.networkData });
  const siteNames = checkSites(builds);
  const space: Folder[] = [];
  const zstd: string[] = [];
  for (const b of builds) {
    // repo keys: checked, and pinned ones downloaded (cached only once their fingerprint matched)
    const keys = repoKeyResolver({ runner, dir: keysDir(b.cacheDir), env: b.netEnv, refresh: b.refresh });
    const plan = withSites(
      await planBuild(b.profile, b.overrides, process.cwd(), b.bootstrapper, keys),
      siteNames,
    );
    plans.push(plan);
    const q = qcow2Compression(plan.profile.qcow2);
    if (plan.profile.formats.includes('qcow2') && q.compress && q.compressionType === 'zstd')
      zstd.push(plan.profile.name);
    preflight({ formats: plan.profile.formats, bootstrapper: plan.rootfs.bootstrapper, requireRoot: true });
    space.push(...spaceFolders(plan, b));
    if (plan.layout) chooseBlockDevice(b.blockDevice);
    const cached = existsSync(path.join(b.cacheDir, 'rootfs', plan.rootfsKey, 'entry.json'));
    const bootstraps = b.noCache || b.refresh || !cached;
    // the host's archive keyring, or one obtained from the archive and checked against the pinned keys
    if (bootstraps)
      await ensureArchiveKeyring(plan.distro, { runner, dir: keyringsDir(b.cacheDir), env: b.netEnv });
  }
  checkBundleNames(plans.map((p) => p.profile.name));
  bundleJobs(builds.length, 1, first.jobs);
  // a bundle's builds add up: every image stays in the output folder, every new entry in the cache
  checkSpace(space);
  await checkZstdWriter(runner, zstd);
  if (first.signKey !== undefined) await checkSigningKey(runner, first.signKey);
  return plans;
}

/**
 * `--site DIR...`: each folder read and checked (name, config drive files); one profile only, and
 * no --user-data/--meta-data/--network-data beside them (each site folder carries its own).
 */
function checkSites(builds: readonly BuildOptions[]): string[] {
  const first = builds[0]!;
  const dirs = first.sites ?? [];
  if (!dirs.length) return [];
  if (builds.length > 1)
    throw new UserError(
      `--site makes one profile's ISO per site; ${builds.length} profiles were given`,
      'build one profile with --site (run one build per profile)',
    );
  const flag = first.userData
    ? '--user-data'
    : first.metaData
      ? '--meta-data'
      : first.networkData
        ? '--network-data'
        : undefined;
  if (flag)
    throw new UserError(
      `${flag} and --site were both given`,
      `each --site folder carries its own config drive: leave ${flag} out`,
    );
  return dirs.map((d) => readSite(d).name);
}

/** `--cache-from`/`--cache-to`: registry references, a cache to fill, and skopeo to speak to the registry. */
export function checkRemoteCache(
  b: Pick<BuildOptions, 'cacheFrom' | 'cacheTo' | 'noCache'>,
  which: (cmd: string) => string | undefined = (c) => realProbe.which(c),
): void {
  const given: [string, string | undefined][] = [
    ['--cache-from', b.cacheFrom],
    ['--cache-to', b.cacheTo],
  ];
  const flags = given.filter((f): f is [string, string] => f[1] !== undefined);
  for (const [flag, value] of flags) parseCacheRef(value, flag);
  if (!flags.length) return;
  if (b.noCache)
    throw new UserError(
      `${flags.map((f) => f[0]).join(' and ')} and --no-cache were both given`,
      '--no-cache touches no cache, local or remote: leave one out',
    );
  if (which('skopeo') === undefined)
    throw new HostNotReadyError(
      `${flags[0]![0]} needs skopeo, which speaks to the registry, and this host has none`,
      'apt-get install skopeo (or ./native-tools/install.sh, which installs it)',
    );
}

/** A zstd QCOW2 needs qemu-img 5.1 or later on the build host (focal has 4.2): refused before any work. */
export async function checkZstdWriter(runner: Runner, profiles: readonly string[]): Promise<void> {
  if (!profiles.length) return;
  const version = (await runner.run(['qemu-img', '--version'])).stdout;
  if (qemuImgWritesZstd(version) !== false) return;
  throw new HostNotReadyError(
    `qcow2.compressionType 'zstd' (profile ${profiles.join(', ')}) needs qemu-img ${ZSTD_QEMU_IMG.join('.')} or later; this host has ${version.split('\n')[0]?.trim()}`,
    'leave qcow2.compressionType out (zlib, which every qemu-img reads), or build on a host with a newer qemu-utils',
  );
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

/** A mirror flag: the archive URL grammar (apt source lines and bootstrapper argv). */
function checkMirrorFlag(flag: string, value: string | undefined): void {
  const problem = value === undefined ? undefined : mirrorUrlProblem(value);
  if (problem)
    throw new UserError(
      `${flag} "${value}" ${problem}`,
      'for example --mirror http://deb.debian.org/debian or file:///srv/mirror',
    );
}

/**
 * The cache folder's path goes into overlayfs mount options (`lowerdir=a:b,upperdir=...`), where
 * `,` and `:` separate options and layers, and into mmdebstrap hooks split on spaces.
 */
export function checkCacheDirChars(dir: string): void {
  const resolved = path.resolve(dir);
  const bad = /[,:\s\\]/.exec(resolved);
  if (bad)
    throw new UserError(
      `--cache-dir ${JSON.stringify(resolved)} contains ${JSON.stringify(bad[0])}, which overlay mount options cannot carry`,
      'give --cache-dir a path of letters, digits, / . _ - (the default is /var/cache/ib-native)',
    );
}

function checkUrlFlag(flag: string, value: string | undefined, schemes: readonly string[]): void {
  if (value === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // the URL parser drops line breaks and tabs, so check the text itself: it lands in apt sources
  if (!url || !schemes.includes(url.protocol) || !GRAMMAR.urlChars.test(value))
    throw new UserError(
      `${flag} ${JSON.stringify(value)} is not a ${schemes.map((s) => s.replace(':', '')).join(', ')} URL${GRAMMAR.urlChars.test(value) ? '' : ' (it contains a space, a line break or a control character)'}`,
      flag.startsWith('--mirror')
        ? 'for example --mirror http://deb.debian.org/debian or file:///srv/mirror'
        : 'for example --proxy http://proxy.example:3128 (it defaults to $http_proxy)',
    );
}
