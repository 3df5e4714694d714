// Over 300 lines: the disk family's fast and reproducible ways of making the raw disk share the layout and boot loader steps.
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  fstabUuid,
  type Layout,
  mkfsArgv,
  type PlacedPartition,
  renderFstab,
  sgdiskArgv,
} from '../disk/layout.ts';
import {
  ddIntoArgv,
  debugfsArgv,
  debugfsTimesScript,
  type HiddenNames,
  hiddenInPartition,
  nameMatches,
  nestedMountpoints,
  populateIssue,
} from '../disk/populate.ts';
import type { SignedBootChain } from '../distro/types.ts';
import { InternalError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { resolveInRoot } from '../ops/apply.ts';
import { walkTree } from '../repro/times.ts';
import type { Runner } from '../run/runner.ts';
import { attach, type BlockDeviceKind } from '../sys/blockdev.ts';
import { type MountScope, withMounts } from '../sys/mounts.ts';
import { copyIntoFat, diskEspFiles, type EspFile } from './efi-boot.ts';
import { GRUB_I386, renderEarlyConfig, renderGrubCfg } from './grub.ts';
import { coreEarlyConfig, grubMkimageBiosArgv, writeBiosBoot } from './grub-bios.ts';
import { buildStandaloneImage } from './grub-standalone.ts';

/** What makes the disk family's raw disk (every disk format is converted from it). */
export interface DiskInputs {
  tree: string;
  work: string;
  layout: Layout;
  /** Seed for filesystem/partition UUIDs (stable per profile and rootfs). */
  seed: string;
  kernelVersion: string;
  cmdline: string[];
  title: string;
  grubTimeout: number;
  grubSerialCommand?: string;
  /** The distro's signed UEFI chain (Secure Boot), or undefined for ib-native's own GRUB. */
  signedChain?: SignedBootChain;
  blockDevice: BlockDeviceKind;
  registryDir: string;
  /** SOURCE_DATE_EPOCH: the disk is made reproducibly (see makeRawDiskReproducible). */
  sourceDateEpoch?: number;
}

export type Qcow2CompressionType = 'zlib' | 'zstd';

/**
 * What a profile without `qcow2` gets: compressed clusters, zlib like the original. zlib is what
 * every qemu-img reads; a zstd image needs QEMU 5.1 or later to open at all (focal ships 4.2, and
 * so do many provisioning ramdisks), so zstd is the profile's choice (`qcow2.compressionType`).
 */
export const QCOW2_DEFAULTS = { compress: true, compressionType: 'zlib' } as const satisfies Qcow2Compression;

export interface Qcow2Compression {
  compress: boolean;
  compressionType: Qcow2CompressionType;
}

/** The profile's `qcow2` settings with the defaults filled in. Pure. */
export function qcow2Compression(q?: Partial<Qcow2Compression>): Qcow2Compression {
  return {
    compress: q?.compress ?? QCOW2_DEFAULTS.compress,
    compressionType: q?.compressionType ?? QCOW2_DEFAULTS.compressionType,
  };
}

/** How `plan` and the log name it: `compressed, zlib` or `not compressed`. */
export function describeQcow2Compression(c: Qcow2Compression): string {
  return c.compress ? `compressed, ${c.compressionType}` : 'not compressed';
}

/** The oldest qemu-img that knows zstd clusters (to write them, and to read them). */
export const ZSTD_QEMU_IMG = [5, 1] as const;

/**
 * Whether the qemu-img that printed `version` (`qemu-img --version`) can write zstd clusters;
 * undefined when the text shows no version. Pure.
 */
export function qemuImgWritesZstd(version: string): boolean | undefined {
  const m = /qemu-img version (\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > ZSTD_QEMU_IMG[0] || (major === ZSTD_QEMU_IMG[0] && minor >= ZSTD_QEMU_IMG[1]);
}

/**
 * In-flight requests of the QCOW2 convert (`-m`, qemu-img's maximum): compressed clusters are
 * compressed on qemu's thread pool, and more requests keep every core busy. Measured on 2 cores
 * (W's 19 GiB base disk, zlib, out of order): -m 2 20.7 s, -m 8 16.8 s, -m 16 14.8 s.
 */
export const QEMU_IMG_COROUTINES = 16;

/**
 * qemu-img convert argv. zlib is qcow2's own default, so it is asked for with no option at all:
 * qemu-img before 5.1 does not know `compression_type` and refuses it, and a host that old can
 * still make a zlib image. `outOfOrder` (-W) lets the coroutines write clusters as they finish:
 * faster, but the clusters (compressed ones are packed one after the other) then land at
 * offsets that change from run to run. In order, the same raw disk gives the same QCOW2.
 */
export function qemuImgConvertArgv(
  raw: string,
  out: string,
  compress: boolean,
  type: Qcow2CompressionType,
  threads = 2,
  outOfOrder = true,
): string[] {
  return [
    'qemu-img',
    'convert',
    '-f',
    'raw',
    '-O',
    'qcow2',
    ...(compress ? ['-c', ...(type === 'zlib' ? [] : ['-o', `compression_type=${type}`])] : []),
    '-m',
    String(Math.max(1, Math.min(threads, 16))),
    ...(outOfOrder ? ['-W'] : []),
    // progress, read by qemuImgProgress (src/run/progress.ts)
    '-p',
    raw,
    out,
  ];
}

export function rsyncArgv(from: string, to: string, excludes: readonly string[]): string[] {
  return [
    'rsync',
    '--archive',
    '--hard-links',
    '--acls',
    '--xattrs',
    '--numeric-ids',
    '--sparse',
    ...excludes.map((e) => `--exclude=${e}`),
    `${from.replace(/\/+$/, '')}/`,
    `${to.replace(/\/+$/, '')}/`,
  ];
}

/** Where each file lives relative to the filesystem that holds /boot. */
function bootRelative(layout: Layout): { bootPart: PlacedPartition; prefix: string } {
  const boot = layout.partitions.find((p) => p.mountpoint === '/boot');
  const root = layout.partitions.find((p) => p.mountpoint === '/');
  if (!root) throw new UserError('disk layout has no root partition', 'add a partition with mountpoint "/"');
  return boot ? { bootPart: boot, prefix: '' } : { bootPart: root, prefix: '/boot' };
}

export function diskGrubCfg(i: DiskTreeInputs): string {
  const { bootPart, prefix } = bootRelative(i.layout);
  const root = i.layout.partitions.find((p) => p.mountpoint === '/')!;
  return renderGrubCfg({
    timeout: i.grubTimeout,
    finder: { kind: 'uuid', uuid: fstabUuid(bootPart, i.seed) },
    // the signed GRUB of some distros has no serial terminal (and loads no module under Secure Boot)
    serial: i.signedChain && !i.signedChain.grubSerial ? 'bios-only' : true,
    serialCommand: i.grubSerialCommand,
    entries: [
      {
        title: i.title,
        kernel: `${prefix}/vmlinuz-${i.kernelVersion}`,
        initrd: `${prefix}/initrd.img-${i.kernelVersion}`,
        cmdline: [`root=UUID=${fstabUuid(root, i.seed)}`, 'ro', ...i.cmdline],
      },
    ],
  });
}

interface DiskSession {
  mnt: string;
  fat: PlacedPartition[];
  partition(n: number): string;
}

/** Attach a raw disk, mount its filesystems under work/mnt, run `fn`, always unmount and detach. */
async function withDisk(
  runner: Runner,
  logger: Logger,
  raw: string,
  i: Pick<DiskInputs, 'layout' | 'seed' | 'blockDevice' | 'registryDir' | 'work'>,
  makeFilesystems: boolean,
  fn: (d: DiskSession) => Promise<void>,
): Promise<void> {
  const dev = await attach(runner, raw, i.layout.partitions.length, i.blockDevice, i.registryDir);
  logger.info(`disk: disk attached as ${dev.device} (${dev.kind})`);
  try {
    if (makeFilesystems)
      for (const p of i.layout.partitions) {
        const argv = mkfsArgv(p, dev.partition(p.number), i.seed);
        if (argv) await runner.run(argv, { context: `making the ${p.name} filesystem` });
      }
    const mnt = path.join(i.work, 'mnt');
    mkdirSync(mnt, { recursive: true });
    const mountable = i.layout.partitions
      .filter((p) => p.mountpoint && (p.filesystem === 'ext4' || p.filesystem === 'xfs'))
      .sort((a, b) => a.mountpoint!.length - b.mountpoint!.length);
    await withMounts(runner, async (m) => {
      for (const p of mountable) {
        const target = path.join(mnt, p.mountpoint!);
        mkdirSync(target, { recursive: true });
        await m.mount(['-t', p.filesystem, dev.partition(p.number)], target);
      }
      await fn({
        mnt,
        fat: i.layout.partitions.filter((p) => p.filesystem === 'vfat'),
        partition: dev.partition,
      });
      await runner.run(['sync', '--file-system', mnt]);
    });
  } finally {
    await dev.detach();
  }
}

function treeExcludes(fat: readonly PlacedPartition[]): string[] {
  return ['/live', ...fat.map((p) => `${p.mountpoint}/*`)];
}

export interface BaseDiskInputs
  extends Pick<DiskInputs, 'layout' | 'seed' | 'blockDevice' | 'registryDir' | 'work'> {
  /** The unconfigured rootfs. */
  tree: string;
  /** Root-relative patterns left out (what finalize removes; see NOT_SHIPPED in modules/finalize.ts). */
  exclude?: readonly string[];
}

/**
 * The base disk of a rootfs: partitioned, filesystems made, the rootfs in them. Cached per
 * rootfs and layout, so a configuration-only change only syncs the differences into a copy.
 * Made in user space like the reproducible disk (`mke2fs -d`, never mounted), what is left out
 * hidden by an overlay so that none of its bytes is ever written; an xfs layout goes through a
 * kernel mount and rsync. On 2 cores, W's rootfs: 4 s against 13-15 s for the mount and rsync.
 */
export async function buildBaseDisk(
  runner: Runner,
  logger: Logger,
  i: BaseDiskInputs,
  raw: string,
): Promise<void> {
  await runner.run(['truncate', '--size', String(i.layout.sizeBytes), raw]);
  await runner.run(sgdiskArgv(raw, i.layout, i.seed), { context: 'partitioning the disk' });
  const hide = ['/live', ...(i.exclude ?? [])];
  logger.info('disk: copying the base rootfs into the base disk');
  if (!populateIssue(i.layout)) {
    // the FAT first: written into a file mke2fs has just filled, dd waits on its writeback (4 s)
    await writeFat(runner, raw, i);
    await fillExt4(runner, logger, raw, i, { hide });
    return;
  }
  await withDisk(runner, logger, raw, i, true, async ({ mnt, fat }) => {
    const excludes = [...treeExcludes(fat), ...(i.exclude ?? []).map((p) => `/${p}`)];
    await runner.run(rsyncArgv(i.tree, mnt, excludes), { context: 'copying the rootfs into the disk' });
  });
}

/**
 * Each ext4 filesystem of the layout made and filled at its offset in `raw` by `mke2fs -d` from
 * its folder of the tree (see partitionView), never mounted. `hide`: root-relative patterns left out.
 */
async function fillExt4(
  runner: Runner,
  logger: Logger,
  raw: string,
  i: Pick<DiskInputs, 'tree' | 'layout' | 'seed' | 'work'>,
  o: { env?: Record<string, string>; hide?: readonly string[] } = {},
): Promise<PlacedPartition[]> {
  const ext4 = i.layout.partitions.filter((p) => p.filesystem === 'ext4' && p.mountpoint);
  await withMounts(runner, async (m) => {
    for (const p of ext4) {
      const hidden = hiddenInPartition(i.layout, p, o.hide ?? []);
      const view = path.join(i.work, 'views', p.name);
      const populateFrom = await partitionView(m, i.tree, i.layout, p, view, hidden);
      logger.info(`disk: making and filling the ${p.name} filesystem (ext4)`);
      await runner.run(mkfsArgv(p, raw, i.seed, { ...p, populateFrom })!, {
        ...(o.env ? { env: o.env } : {}),
        context: `making the ${p.name} filesystem`,
      });
    }
  });
  return ext4;
}

/**
 * Each FAT filesystem of the layout made as a file (`mkfs.vfat --invariant`), filled by `fill`
 * (mtools, with each file's path), then copied to its place in `raw`.
 */
async function writeFat(
  runner: Runner,
  raw: string,
  i: Pick<DiskInputs, 'layout' | 'seed' | 'work'>,
  fill?: (file: (p: PlacedPartition) => string) => Promise<void>,
): Promise<void> {
  const fat = i.layout.partitions.filter((p) => p.filesystem === 'vfat');
  const fatFile = (p: PlacedPartition) => path.join(i.work, `${p.name}.fat`);
  for (const p of fat)
    await runner.run(mkfsArgv(p, fatFile(p), i.seed, p)!, { context: `making the ${p.name} filesystem` });
  await fill?.(fatFile);
  for (const p of fat) {
    await runner.run(ddIntoArgv(fatFile(p), raw, p), { context: `writing the ${p.name} filesystem` });
    rmSync(fatFile(p), { force: true });
  }
}

export type DiskTreeInputs = Pick<
  DiskInputs,
  | 'layout'
  | 'seed'
  | 'kernelVersion'
  | 'cmdline'
  | 'title'
  | 'grubTimeout'
  | 'grubSerialCommand'
  | 'signedChain'
>;

/**
 * What a disk needs in its tree besides the configured system: fstab, grub.cfg, GRUB's BIOS
 * modules and the ESP's mount point. Written into the (format's overlay) tree before the disk
 * is made, so that both ways of making it copy them like any other file.
 */
export async function writeDiskTree(runner: Runner, tree: string, i: DiskTreeInputs): Promise<void> {
  const at = (p: string) => resolveInRoot(tree, p);
  const write = (p: string, content: string) => {
    mkdirSync(path.dirname(at(p)), { recursive: true });
    rmSync(at(p), { force: true });
    writeFileSync(at(p), content);
  };
  write('/etc/fstab', renderFstab(i.layout, i.seed));
  write('/boot/grub/grub.cfg', diskGrubCfg(i));
  // BIOS: GRUB's modules into /boot/grub/i386-pc; core.img goes into bios_grub (writeBiosBoot)
  const modules = at('/boot/grub/i386-pc');
  await runner.run(['rm', '-rf', '--', modules]);
  await runner.run(['cp', '-r', '--', GRUB_I386, modules]);
  for (const p of i.layout.partitions.filter((q) => q.mountpoint))
    mkdirSync(at(p.mountpoint!), { recursive: true });
}

interface BootLoaders {
  /** What the ESP holds: the signed chain or the standalone UEFI GRUB (./efi-boot.ts). */
  esp: EspFile[];
  /** core.img for the bios_grub partition, when there is one. */
  core?: Buffer;
}

/**
 * The disk's UEFI boot files and BIOS core image, all finding /boot by its UUID: the signed chain's
 * GRUB reads the early config from EFI/<vendor>/grub.cfg, the standalone one has it built in.
 */
async function bootLoaders(runner: Runner, i: DiskInputs): Promise<BootLoaders> {
  const { bootPart, prefix } = bootRelative(i.layout);
  const uuid = fstabUuid(bootPart, i.seed);
  const early = path.join(i.work, 'early-grub-disk.cfg');
  writeFileSync(early, renderEarlyConfig({ kind: 'uuid', uuid }, `${prefix}/grub/grub.cfg`));
  let esp: EspFile[];
  if (i.signedChain) esp = diskEspFiles({ chain: i.signedChain, tree: i.tree }, early);
  else {
    const standalone = path.join(i.work, 'grubx64.efi');
    await buildStandaloneImage(runner, {
      format: 'x86_64-efi',
      output: standalone,
      earlyCfg: early,
      work: i.work,
      mtime: i.sourceDateEpoch ?? 0,
    });
    esp = diskEspFiles({ standalone }, early);
  }
  if (!i.layout.partitions.some((p) => p.flags.includes('bios_grub'))) return { esp };
  const coreCfg = path.join(i.work, 'core-early.cfg');
  writeFileSync(coreCfg, coreEarlyConfig(uuid, `${prefix}/grub`));
  const core = path.join(i.work, 'core.img');
  await runner.run(grubMkimageBiosArgv(core, coreCfg, `${prefix}/grub`), {
    context: 'building the BIOS GRUB core image',
  });
  return { esp, core: readFileSync(core) };
}

/** The UEFI boot files into every ESP; `image(p)` names its FAT for mtools' -i. */
async function installEfi(
  runner: Runner,
  i: DiskInputs,
  esp: readonly EspFile[],
  image: (p: PlacedPartition) => string,
): Promise<void> {
  for (const p of i.layout.partitions.filter((f) => f.filesystem === 'vfat' && f.flags.includes('esp')))
    await copyIntoFat(runner, image(p), esp, i.sourceDateEpoch);
}

/** The BIOS core image into the bios_grub partition: the raw disk is then finished. */
function finishRaw(i: DiskInputs, raw: string, core?: Buffer): string {
  const biosGrub = i.layout.partitions.find((p) => p.flags.includes('bios_grub'));
  if (biosGrub && core) writeBiosBoot(raw, core, biosGrub);
  return raw;
}

/** The raw disk's path in a disk work folder. */
export const rawDiskPath = (work: string) => path.join(work, 'disk.raw');

/**
 * The fast way: a copy of the cached base disk, mounted, the configured tree synced in with
 * rsync --delete. Not reproducible: the kernel's ext4 stamps the superblock and the journal
 * with mount and commit times and the mount path, allocates blocks per CPU and keeps ctimes.
 */
export async function makeRawDisk(
  runner: Runner,
  logger: Logger,
  i: DiskInputs & { baseDisk: string },
): Promise<string> {
  const raw = rawDiskPath(i.work);
  // --sparse=auto copies the data extents alone (SEEK_DATA); =always reads the whole 19 GiB (0.5 s against 5.3 s)
  await runner.run(['cp', '--sparse=auto', '--reflink=auto', '--', i.baseDisk, raw], {
    context: 'copying the base disk',
  });
  logger.info('disk: installing GRUB (BIOS, UEFI)');
  const { esp, core } = await bootLoaders(runner, i);
  await withDisk(runner, logger, raw, i, false, async ({ mnt, fat, partition }) => {
    logger.info('disk: syncing the configured tree into the disk');
    await runner.run([...rsyncArgv(i.tree, mnt, treeExcludes(fat)), '--delete'], {
      context: 'syncing the configured tree into the disk',
    });
    await installEfi(runner, i, esp, (p) => partition(p.number));
  });
  return finishRaw(i, raw, core);
}

/**
 * The way without a base disk: made from the tree in user space, never mounted. sgdisk with
 * derived GUIDs; the ESP made as a file by `mkfs.vfat --invariant` and mtools, then copied in;
 * each ext4 made and filled by `mke2fs -d` at its offset (derived UUID and hash seed), the mount
 * points of other partitions hidden by empty tmpfs. Used when the rootfs was made by this very
 * build (a base disk would be one more copy of it), and for reproducible disks: with
 * SOURCE_DATE_EPOCH, E2FSPROGS_FAKE_TIME gives mke2fs its own times, debugfs then gives each inode
 * the tree's mtime as atime, mtime and ctime, and qemu-img writes clusters in order. Same tree and
 * SOURCE_DATE_EPOCH, same bytes.
 */
export async function makeRawDiskFromTree(runner: Runner, logger: Logger, i: DiskInputs): Promise<string> {
  const issue = populateIssue(i.layout);
  if (issue) throw new InternalError(`makeRawDiskFromTree: ${issue}`);
  const raw = rawDiskPath(i.work);
  const sde = i.sourceDateEpoch;
  const fakeTime = sde === undefined ? undefined : { E2FSPROGS_FAKE_TIME: String(sde) };
  await runner.run(['truncate', '--size', String(i.layout.sizeBytes), raw]);
  await runner.run(sgdiskArgv(raw, i.layout, i.seed), { context: 'partitioning the disk' });
  logger.info('disk: installing GRUB (BIOS, UEFI)');
  const { esp, core } = await bootLoaders(runner, i);
  // the FAT before the ext4: dd into a file mke2fs has just filled waits on its writeback
  await writeFat(runner, raw, i, (fatFile) => installEfi(runner, i, esp, fatFile));
  const ext4 = await fillExt4(runner, logger, raw, i, fakeTime ? { env: fakeTime } : {});
  if (fakeTime) for (const p of ext4) await fixInodeTimes(runner, logger, raw, i, p, fakeTime);
  return finishRaw(i, raw, core);
}

/** debugfs gives every inode of `p` the tree's mtime as atime and ctime (mke2fs copied the live ones). */
async function fixInodeTimes(
  runner: Runner,
  logger: Logger,
  raw: string,
  i: Pick<DiskInputs, 'tree' | 'layout' | 'work'>,
  p: PlacedPartition,
  env: Record<string, string>,
): Promise<void> {
  const nested = new Set(nestedMountpoints(i.layout, p));
  const root = resolveInRoot(i.tree, p.mountpoint!);
  const entries = walkTree(root, (rel) => nested.has(rel)).map((e) => ({
    path: `/${e.rel}`,
    time: Math.floor(e.stat.mtimeMs / 1000),
    mtime: e.rel === '' || nested.has(e.rel),
  }));
  const script = path.join(i.work, `times-${p.name}.debugfs`);
  writeFileSync(script, debugfsTimesScript(entries));
  logger.info(`disk: fixing the times of ${entries.length} inodes of ${p.name} (debugfs)`);
  const r = await runner.run(debugfsArgv(raw, p, script), {
    env,
    context: `setting inode times in the ${p.name} filesystem`,
  });
  const errors = r.stderr.split('\n').filter((l) => l.trim() && !/^debugfs \d/.test(l));
  if (errors.length)
    throw new InternalError(
      `debugfs could not set inode times in ${p.name}:\n${errors.slice(0, 10).join('\n')}`,
    );
  rmSync(script, { force: true });
}

/**
 * What mke2fs -d reads for a partition: its folder of the tree, bind-mounted read-only, with the
 * mount points of the partitions below it covered by an empty tmpfs of the same mode and owner.
 * With names to hide, an overlayfs instead, the names removed through it (whiteouts in its upper
 * folder; the tree is never written), each folder resolved inside the view, never through a link.
 */
async function partitionView(
  m: MountScope,
  tree: string,
  layout: Layout,
  p: PlacedPartition,
  view: string,
  hidden: readonly HiddenNames[] = [],
): Promise<string> {
  const source = resolveInRoot(tree, p.mountpoint!);
  mkdirSync(view, { recursive: true });
  if (hidden.length === 0) await m.bind(source, view, { readonly: true });
  else {
    const layer = `${view}.layer`;
    for (const d of ['upper', 'work']) mkdirSync(path.join(layer, d), { recursive: true });
    await m.overlay([source], path.join(layer, 'upper'), path.join(layer, 'work'), view);
    for (const h of hidden) {
      const dir = resolveInRoot(view, `/${h.dir}`);
      if (!lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
      for (const name of readdirSync(dir).filter((n) => nameMatches(h.name, n)))
        rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
  for (const rel of nestedMountpoints(layout, p)) {
    // each part of the way a real folder, never a link (a tmpfs mounted through one would land
    // outside the view); the rootfs of a base disk has no mount points yet: nothing to cover
    const parts = rel.split('/');
    const way = parts.map((_, n) =>
      lstatSync(path.join(source, ...parts.slice(0, n + 1)), { throwIfNoEntry: false }),
    );
    const missing = way.indexOf(undefined);
    const st = way.at(-1);
    if (way.slice(0, missing < 0 ? undefined : missing).some((s) => !s!.isDirectory()))
      throw new UserError(
        `${path.join(p.mountpoint!, rel)} is a mount point in disk.partitions but not a folder in the image`,
        'remove whatever replaces that folder in the profile',
      );
    if (!st) continue;
    const mode = (st.mode & 0o7777).toString(8);
    await m.mount(
      ['-t', 'tmpfs', '-o', `mode=${mode},uid=${st.uid},gid=${st.gid},size=64k`, 'ibn-mountpoint'],
      path.join(view, rel),
    );
  }
  return view;
}
