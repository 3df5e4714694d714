// Over 300 lines: the rootfs stage (bootstrapper argv, apt sources, the one apt transaction); the coming plan refactor (issue 12) reshapes it.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import {
  type AptSource,
  type Distro,
  distroSources,
  renderDeb822,
  repoSource,
  withMainMirror,
} from '../distro/index.ts';
import { CommandError, CommandNotFoundError, InterruptedError, isNoSpace, UserError } from '../errors.ts';
import { ensureArchiveKeyring } from '../keys/archive-keyring.ts';
import { isArmored } from '../keys/openpgp.ts';
import type { LocalRepo } from '../keys/repo-keys.ts';
import type { Logger } from '../log.ts';
import { BLOCKED_PREFERENCES, renderBlockedPreferences } from '../modules/blocked-packages.ts';
import { KUBERNETES_PREFERENCES } from '../modules/kubernetes.ts';
import { resolveInRoot } from '../ops/apply.ts';
import { REPO_ROOT } from '../package.ts';
import { APT_STATUS_ARGS, aptProgress, debootstrapProgress } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import { stallMs } from '../run/watchdog.ts';
import { isSymlink, removeTree } from '../sys/files.ts';
import { type Chroot, withChroot } from './chroot.ts';
import { dropUnverifiedDebs, verifyBaseDebs } from './package-cache.ts';

/** Everything that decides the content of the base root filesystem (and so its cache key). */
export interface RootfsInputs {
  distro: Distro;
  packages: string[];
  /** Extra repos, their keys local files (checked and fetched before the plan, ../keys/repo-keys.ts). */
  repos: LocalRepo[];
  blockedPackages: string[];
  /** The apt preferences that pin kubernetes.version's packages (KUBERNETES_PREFERENCES), if any. */
  kubernetesPreferences?: string;
  bootstrapper: 'debootstrap' | 'mmdebstrap';
  /** Mirrors tried when the distro mirror fails (not part of the cache key: same content). */
  fallbackMirrors?: string[];
}

export const ROOTFS_STAGE_VERSION = 5;
const MIRROR_RETRIES = 2;

export function keyInImage(repo: LocalRepo, distro: Distro): string {
  const binary = !distro.aptReadsArmoredKeys || !repo.key?.endsWith('.asc');
  return `/etc/apt/keyrings/ib-native-${repo.name}.${binary ? 'gpg' : 'asc'}`;
}

/** The apt sources of a build (pure): the distro's, then each extra repo. */
export function aptSources(inputs: RootfsInputs): AptSource[] {
  const { distro } = inputs;
  return [
    ...distroSources(distro, distro.keyring),
    ...inputs.repos.map((r) => ({
      ...repoSource(r),
      trusted: r.trusted && !r.key,
      signedBy: r.key ? keyInImage(r, distro) : undefined,
    })),
  ];
}

/**
 * The sources a finished image keeps (pure): those of the build, but a `trusted` repo loses its
 * `Trusted: yes`, so that apt on the node never installs from it unchecked (it refuses the repo
 * until it is signed). The build itself still installs from it, with a warning at plan time.
 */
export function imageAptSources(inputs: RootfsInputs): AptSource[] {
  return aptSources(inputs).map((s) => (s.trusted ? { ...s, trusted: false } : s));
}

/** The complete package set of one apt transaction (pure, sorted, deduped). */
export function installSet(inputs: RootfsInputs): string[] {
  const fromRepos = inputs.repos.flatMap((r) => r.packages);
  const all = [
    ...inputs.distro.kernelPackages,
    ...inputs.distro.bootPackages,
    ...inputs.packages,
    ...fromRepos,
  ];
  const byName = new Map<string, string>();
  for (const p of all) {
    const name = p.replace(/=.*$/, '');
    // a pinned request (e.g. kubelet=1.21.2-00 from kubelet.version) is never undone by a later unpinned one
    if (!p.includes('=') && byName.get(name)?.includes('=')) continue;
    byName.set(name, p);
  }
  for (const b of inputs.blockedPackages) byName.delete(b);
  return [...byName.values()].sort();
}

/**
 * What the minimal base adds to the bootstrapper's minbase. apt is listed because Ubuntu ranks it
 * `important`, not `required`, so mmdebstrap's minbase has no apt there (debootstrap adds it itself).
 */
export const BASE_INCLUDE = ['apt', 'ca-certificates', 'gnupg'] as const;

export function debootstrapArgv(d: Distro, target: string, cacheDir: string): string[] {
  return [
    'debootstrap',
    '--variant=minbase',
    `--arch=${d.arch}`,
    `--components=${d.components.join(',')}`,
    `--keyring=${d.keyring}`,
    `--cache-dir=${cacheDir}`,
    `--include=${BASE_INCLUDE.join(',')}`,
    d.suite,
    target,
    d.mirror,
    ...(d.debootstrapScript ? [d.debootstrapScript] : []),
  ];
}

/**
 * mmdebstrap: the same minimal base as debootstrap's minbase, resolved and unpacked by apt
 * (parallel downloads, one dpkg run). The shared package cache is synced in before and out after.
 */
export function mmdebstrapArgv(d: Distro, target: string, cacheDir: string): string[] {
  if (/\s/.test(cacheDir))
    throw new UserError(
      `the cache folder path "${cacheDir}" contains a space`,
      'use --cache-dir with a path without spaces for mmdebstrap',
    );
  return [
    'mmdebstrap',
    '--variant=minbase',
    '--mode=root',
    `--arch=${d.arch}`,
    `--components=${d.components.join(',')}`,
    `--keyring=${d.keyring}`,
    `--include=${BASE_INCLUDE.join(',')}`,
    '--aptopt=Acquire::Retries "3"',
    `--dpkgopt=${DPKG_UNSAFE_IO}`,
    '--setup-hook=mkdir -p "$1/var/cache/apt/archives/"',
    `--setup-hook=sync-in ${cacheDir} /var/cache/apt/archives/`,
    `--customize-hook=sync-out /var/cache/apt/archives ${cacheDir}`,
    d.suite,
    target,
    d.mirror,
  ];
}

export function bootstrapArgv(
  b: RootfsInputs['bootstrapper'],
  d: Distro,
  target: string,
  cacheDir: string,
): string[] {
  return b === 'mmdebstrap' ? mmdebstrapArgv(d, target, cacheDir) : debootstrapArgv(d, target, cacheDir);
}

/**
 * dpkg without fsync: the tree being built is thrown away on any failure, and what it holds is read
 * from the page cache by the later stages, so the syncs only cost time (issue 13).
 */
export const DPKG_UNSAFE_IO = 'force-unsafe-io';

/** `extra`: more apt options (e.g. APT_STATUS_ARGS for progress). */
export function aptInstallArgv(pkgs: readonly string[], extra: readonly string[] = []): string[] {
  return [
    'apt-get',
    '-y',
    '-q',
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    '-o',
    `Dpkg::Options::=--${DPKG_UNSAFE_IO}`,
    '-o',
    'Acquire::Retries=3',
    ...extra,
    '--no-install-recommends',
    'install',
    ...pkgs,
  ];
}

export interface RootfsContext {
  runner: Runner;
  logger: Logger;
  packageCache: string;
  /** `<cache>/keyrings`: archive keyrings obtained when the host lacks them. */
  keyringDir: string;
  env: Record<string, string>;
}

/** The mirrors to try, in order: the distro's (or --mirror), then each fallback. Pure. */
export function mirrorOrder(primary: string, fallbacks: readonly string[] = []): string[] {
  return [...new Set([primary, ...fallbacks].map((m) => m.replace(/\/+$/, '')))];
}

/**
 * Run the bootstrapper against each mirror in turn, each with retries and a growing pause,
 * starting from an empty target every time; a silent bootstrapper is killed by the watchdog.
 * When everything fails, one error names every URL and what happened there. A program that
 * cannot be found or run (the bootstrapper on the host, apt-get in its chroot) and a full disk
 * end it at once: no mirror changes them.
 */
export async function bootstrapWithFallbacks(
  ctx: RootfsContext,
  inputs: RootfsInputs,
  target: string,
  keyring: string,
): Promise<string> {
  const { runner, logger } = ctx;
  const tried: string[] = [];
  for (const mirror of mirrorOrder(inputs.distro.mirror, inputs.fallbackMirrors)) {
    const distro = { ...withMainMirror(inputs.distro, mirror), keyring };
    logger.info(`rootfs: bootstrapping ${distro.name} from ${mirror} with ${inputs.bootstrapper}`);
    for (let attempt = 1; attempt <= 1 + MIRROR_RETRIES; attempt++) {
      try {
        await runner.run(bootstrapArgv(inputs.bootstrapper, distro, target, ctx.packageCache), {
          context: `${inputs.bootstrapper} from ${mirror}`,
          env: ctx.env,
          stallMs: stallMs(),
          // mmdebstrap prints nothing while dpkg configures the base: dpkg's status file changing is progress
          watchFile: path.join(target, 'var/lib/dpkg/status'),
          ...(inputs.bootstrapper === 'debootstrap' ? { progress: debootstrapProgress() } : {}),
        });
        return mirror;
      } catch (e) {
        // a missing program or a full disk fails the same way on every mirror
        if (e instanceof InterruptedError || e instanceof CommandNotFoundError || isNoSpace(e)) throw e;
        const why = failureSummary(e);
        tried.push(`${mirror} attempt ${attempt}: ${why}`);
        logger.warn(
          `${inputs.bootstrapper} from ${mirror} failed (attempt ${attempt}/${1 + MIRROR_RETRIES}): ${why}`,
        );
        // a bootstrapper killed midway (watchdog) leaves its own mounts (proc, sys, dev) in the target
        await removeTree(runner, target);
        mkdirSync(target, { recursive: true });
        if (attempt <= MIRROR_RETRIES) await new Promise((r) => setTimeout(r, retryPauseMs() * attempt));
      }
    }
  }
  throw new UserError(
    `could not bootstrap ${inputs.distro.name} from any mirror; tried:\n${tried.map((t) => `  - ${t}`).join('\n')}`,
    'check the mirror URLs and the network (or --proxy); add --mirror-fallback URL for another mirror',
  );
}

/** One line on why a command failed: how it ended and its last line of output. */
function failureSummary(e: unknown): string {
  if (!(e instanceof CommandError)) return (e as Error).message.split('\n')[0] ?? String(e);
  const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.exitCode}`;
  const last = e.stderrTail.split('\n').filter(Boolean).at(-1);
  return last ? `${how}; last output: ${last}` : how;
}

/** Pause between attempts on one mirror (grows with the attempt); IB_NATIVE_RETRY_PAUSE_MS overrides. */
function retryPauseMs(): number {
  const v = Number(process.env.IB_NATIVE_RETRY_PAUSE_MS);
  return Number.isFinite(v) && v >= 0 ? v : 3000;
}

/** The bootstrapper installed cached files the signed index disagrees with (now removed from the cache). */
export class UnverifiedBaseError extends Error {
  constructor(readonly files: readonly string[]) {
    super(`the base was installed from cached files the signed index disagrees with: ${files.join(', ')}`);
  }
}

/**
 * Build the base root filesystem into `target` (an empty folder). A base made from cached files
 * that fail the index check (removed from the cache by then) is made once more from the mirror.
 */
export async function buildRootfs(ctx: RootfsContext, given: RootfsInputs, target: string): Promise<void> {
  try {
    await buildRootfsOnce(ctx, given, target);
  } catch (e) {
    if (!(e instanceof UnverifiedBaseError)) throw e;
    ctx.logger.warn(`rootfs: ${e.message}; bootstrapping again`);
    await removeTree(ctx.runner, target);
    mkdirSync(target, { recursive: true });
    await buildRootfsOnce(ctx, given, target);
  }
}

async function buildRootfsOnce(ctx: RootfsContext, given: RootfsInputs, target: string): Promise<void> {
  const { runner, logger } = ctx;
  // the bootstrapper verifies with the host's keyring, or one obtained from the archive (pinned keys);
  // the image's own sources keep the distro's path, which its keyring package provides
  const keyring = await ensureArchiveKeyring(given.distro, {
    runner,
    logger,
    dir: ctx.keyringDir,
    env: ctx.env,
  });
  mkdirSync(ctx.packageCache, { recursive: true });

  // the mirror that worked is the one apt uses for the rest of the build
  const mirror = await bootstrapWithFallbacks(ctx, given, target, keyring);
  const inputs: RootfsInputs = { ...given, distro: withMainMirror(given.distro, mirror) };
  // the bootstrapper copied the build host's resolv.conf: it does not belong in an image. A link
  // there was made by a package (focal's systemd points it at resolved's stub) and stays.
  if (!isSymlink(path.join(target, 'etc/resolv.conf')))
    rmSync(path.join(target, 'etc/resolv.conf'), { force: true });
  // /run is a tmpfs on every boot; what packages left there during the bootstrap (focal's systemd
  // copies the host's resolv.conf to /run/systemd/resolve) would only hide in the image's lower layers
  await runner.run(['find', path.join(target, 'run'), '-mindepth', '1', '-xdev', '-delete']);
  rmSync(path.join(target, 'etc/apt/sources.list'), { force: true });

  writeAptConfig(inputs, target);
  const pkgs = installSet(inputs);
  await withChroot(target, runner, { packageCache: ctx.packageCache, env: ctx.env, logger }, async (c) => {
    for (const d of INSTALL_DIVERSIONS) await c.run(divertArgv('add', d.path));
    for (const d of INSTALL_DIVERSIONS)
      if (d.stub) writeFileSync(path.join(target, d.path), d.stub, { mode: 0o755 });
    await setDebconf(c, target, INSTALL_DEBCONF.during);
    logger.info(`rootfs: installing ${pkgs.length} packages in one transaction`);
    await c.run(['apt-get', '-q', '-o', 'Acquire::Retries=3', ...APT_STATUS_ARGS, 'update'], {
      context: 'apt-get update',
      retries: MIRROR_RETRIES,
      progress: aptProgress('update'),
    });
    // the base came from the shared cache too: a file apt reused on its size alone is checked now
    const unverifiedBase = await verifyBaseDebs(c, ctx.packageCache, logger);
    if (unverifiedBase.length) throw new UnverifiedBaseError(unverifiedBase);
    await dropUnverifiedDebs(c, ctx.packageCache, pkgs, logger);
    // download (apt verifies each file against the signed index), then install with the cache
    // read-only: the maintainer scripts of the install cannot plant a .deb for later builds
    await c.run(aptInstallArgv(pkgs, [...APT_STATUS_ARGS, '--download-only']), {
      context: 'downloading packages',
      retries: MIRROR_RETRIES,
      progress: aptProgress('install'),
    });
    await c.sealPackageCache();
    await c.run(aptInstallArgv(pkgs, APT_STATUS_ARGS), {
      context: 'installing packages',
      progress: aptProgress('install'),
    });
    for (const d of INSTALL_DIVERSIONS) {
      if (d.stub) rmSync(path.join(target, d.path));
      await c.run(divertArgv('remove', d.path));
    }
    await setDebconf(c, target, INSTALL_DEBCONF.after);
    const kernels = installedKernels(target);
    if (kernels.length === 0)
      throw new UserError(
        'no kernel was installed in the image',
        'keep the distro kernel package in the package list',
      );
    installInitramfsHooks(target);
    for (const k of kernels) {
      logger.info(`rootfs: generating initramfs for ${k}`);
      await c.run(['update-initramfs', '-c', '-k', k], { context: 'update-initramfs' });
      const kdump = kdumpInitrdLink(target, k);
      if (kdump) {
        logger.info(`rootfs: kdump uses the image's initramfs for ${k} (${kdump.link})`);
        mkdirSync(path.dirname(path.join(target, kdump.link)), { recursive: true });
        rmSync(path.join(target, kdump.link), { force: true });
        symlinkSync(kdump.target, path.join(target, kdump.link));
      }
    }
  });
  // what the build trusted blindly, the image does not. Packages ran their scripts by now: resolve
  // the path inside the tree and never follow a link at its end
  const trusted = new Set(
    aptSources(inputs)
      .filter((s) => s.trusted)
      .map((s) => s.name),
  );
  for (const s of imageAptSources(inputs).filter((s) => trusted.has(s.name))) {
    const dest = resolveInRoot(target, `/etc/apt/sources.list.d/${s.name}.sources`);
    rmSync(dest, { force: true });
    writeFileSync(dest, renderDeb822(s), { flag: 'wx', mode: 0o644 });
  }
}

/** initramfs-tools hooks the image gets (chroot-scripts/), part of the rootfs key. */
export const INITRAMFS_HOOKS: readonly { source: string; path: string }[] = [
  {
    source: path.join(REPO_ROOT, 'chroot-scripts/initramfs-fsck-hook.sh'),
    path: '/etc/initramfs-tools/hooks/ib-native-fsck',
  },
];

/** Into an image with initramfs-tools (the packages ran their scripts: resolved inside the tree). */
function installInitramfsHooks(target: string): void {
  if (!existsSync(path.join(target, 'usr/share/initramfs-tools/hook-functions'))) return;
  for (const h of INITRAMFS_HOOKS) {
    const dest = resolveInRoot(target, h.path);
    mkdirSync(path.dirname(dest), { recursive: true });
    rmSync(dest, { force: true });
    writeFileSync(dest, readFileSync(h.source), { flag: 'wx', mode: 0o755 });
  }
}

/**
 * Programs moved aside during the one apt transaction. update-initramfs becomes a no-op (the
 * initramfs is made once per kernel at the end). mkinitramfs is absent, so kernel hooks that call it
 * directly skip themselves: kdump-tools' hook builds a MODULES=dep initrd, which cannot work in a
 * chroot (it looks for the build host's root device) and fails the kernel's postinst.
 */
export const INSTALL_DIVERSIONS: readonly { path: string; stub?: string }[] = [
  { path: '/usr/sbin/update-initramfs', stub: '#!/bin/sh\nexit 0\n' },
  { path: '/usr/sbin/mkinitramfs' },
];

/**
 * debconf answers in force during the one apt transaction, and those the image keeps. man-db rebuilds
 * its whole database in its postinst and on every trigger (minutes in a chroot of the original's
 * package list); the image gets its database from man-db's daily job instead, with auto-update back on.
 */
export const INSTALL_DEBCONF = {
  during: ['man-db man-db/auto-update boolean false'],
  after: ['man-db man-db/auto-update boolean true'],
} as const;

/** Where the answers are handed to debconf-set-selections (the session's tmpfs /run). */
const DEBCONF_FILE = '/run/ib-native-debconf.txt';

async function setDebconf(c: Chroot, target: string, lines: readonly string[]): Promise<void> {
  writeFileSync(path.join(target, DEBCONF_FILE), `${lines.join('\n')}\n`, { mode: 0o600 });
  await c.run(['debconf-set-selections', DEBCONF_FILE], { context: 'debconf answers' });
  rmSync(path.join(target, DEBCONF_FILE));
  // man-db's triggers look for this flag file, which its postinst keeps in step with the answer
  const flag = path.join(target, 'var/lib/man-db/auto-update');
  if (lines.some((l) => l.endsWith('auto-update boolean true')) && existsSync(path.dirname(flag)))
    writeFileSync(flag, '');
}

export function divertArgv(action: 'add' | 'remove', file: string): string[] {
  return ['dpkg-divert', '--local', '--rename', `--${action}`, file];
}

/**
 * kdump-tools loads `/var/lib/kdump/initrd.img-<kernel>` and, when it is missing, builds it at first
 * boot (over 10 minutes under TCG, and a node that is not ready). The image's own initramfs
 * (MODULES=most: every disk and NIC driver) serves as the crash kernel's initrd through a relative
 * link, so it costs no space (a hard link cannot cross into the QCOW2's separate /boot partition).
 * Undefined when kdump-tools is not installed in `root`.
 */
export function kdumpInitrdLink(
  root: string,
  kernel: string,
): { initrd: string; link: string; target: string } | undefined {
  if (!existsSync(path.join(root, 'usr/sbin/kdump-config'))) return undefined;
  const initrd = `/boot/initrd.img-${kernel}`;
  const link = `/var/lib/kdump/initrd.img-${kernel}`;
  return { initrd, link, target: path.posix.relative(path.posix.dirname(link), initrd) };
}

/** Kernel versions that have modules in the tree, newest last. */
export function installedKernels(root: string): string[] {
  const dir = path.join(root, 'lib/modules');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort(compareVersions);
}

export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function writeAptConfig(inputs: RootfsInputs, target: string): void {
  const dir = path.join(target, 'etc/apt');
  mkdirSync(path.join(dir, 'sources.list.d'), { recursive: true });
  mkdirSync(path.join(dir, 'keyrings'), { recursive: true });
  mkdirSync(path.join(dir, 'preferences.d'), { recursive: true });
  for (const s of aptSources(inputs))
    writeFileSync(path.join(dir, 'sources.list.d', `${s.name}.sources`), renderDeb822(s));
  for (const r of inputs.repos) {
    if (!r.key) continue;
    const dest = path.join(target, keyInImage(r, inputs.distro));
    const content = readFileSync(r.key);
    // apt < 2.4 reads binary keyrings only: an armored key (whatever its file name) is dearmored
    writeFileSync(
      dest,
      dest.endsWith('.gpg') && isArmored(content) ? dearmor(content.toString('latin1')) : content,
    );
  }
  // the same file the blockedPackages module writes: in force during the install, kept in the image
  if (inputs.blockedPackages.length)
    writeFileSync(path.join(target, BLOCKED_PREFERENCES), renderBlockedPreferences(inputs.blockedPackages));
  // the same file the kubernetes module writes: the version's pin holds during the install
  if (inputs.kubernetesPreferences)
    writeFileSync(path.join(target, KUBERNETES_PREFERENCES), inputs.kubernetesPreferences);
}

/** ASCII-armored OpenPGP -> binary (what apt < 2.4 needs in signed-by). Pure. */
export function dearmor(armored: string): Buffer {
  const body = armored
    .replace(/\r/g, '')
    .split(/-----BEGIN PGP PUBLIC KEY BLOCK-----/)[1]
    ?.split(/-----END PGP PUBLIC KEY BLOCK-----/)[0];
  if (!body)
    throw new UserError(
      'key file is not an ASCII-armored public key block',
      'export it with `gpg --armor --export KEYID`',
    );
  // drop the rest of the BEGIN line; armor headers (Version:, Comment:) end at the first blank line
  const lines = body.split('\n').slice(1);
  const blank = lines.findIndex((l) => l.trim() === '');
  const data = lines
    .slice(blank + 1)
    .filter((l) => l.trim() && !l.startsWith('='))
    .join('');
  return Buffer.from(data, 'base64');
}
