// Over 300 lines: the ISO stage (tree, config drive, boot images, xorriso argv); the coming plan refactor (issue 12) reshapes it.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stableUuid } from '../disk/layout.ts';
import type { SignedBootChain } from '../distro/types.ts';
import { InternalError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { clampTimes, isoVolumeDate } from '../repro/times.ts';
import { mksquashfsProgress } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import { watchdog } from '../run/watchdog.ts';
import { removeTree } from '../sys/files.ts';
import { opaqueFoldersOf } from '../sys/opaque.ts';
import { rsyncArgv } from './disk.ts';
import { copyIntoFat, type EspFile, isoEspFiles } from './efi-boot.ts';
import {
  GRUB_I386,
  type MenuEntry,
  renderEarlyConfig,
  renderGrubCfg,
  type StandaloneFormat,
} from './grub.ts';
import { buildStandaloneImage } from './grub-standalone.ts';
import { pruneHidden } from './layers.ts';

export const ISO_VOLUME_ID = 'config-2';

export interface SquashfsOptions {
  compression: 'gzip' | 'lz4' | 'lzo' | 'xz' | 'zstd';
  /** The compressor's level (gzip, xz: 1-9, zstd: 1-22); mksquashfs's default when absent. */
  level?: number;
  threads: number;
  /** Paths (relative to the tree) left out. */
  exclude: string[];
  /**
   * Creation time stored in the superblock (otherwise: now). File times are the tree's own, so
   * a tree whose times are fixed gives the same squashfs (4.5.1 orders its output the same
   * way whatever the number of threads: -reproducible is its default).
   */
  mkfsTime?: number;
}

export function mksquashfsArgv(tree: string, out: string, o: SquashfsOptions): string[] {
  return [
    'mksquashfs',
    tree,
    out,
    '-noappend',
    // the progress bar is read by mksquashfsProgress (src/run/progress.ts)
    '-comp',
    o.compression,
    ...(o.level !== undefined ? ['-Xcompression-level', String(o.level)] : []),
    '-processors',
    String(o.threads),
    ...(o.mkfsTime !== undefined ? ['-mkfs-time', String(o.mkfsTime)] : []),
    // -wildcards: exclude patterns such as etc/ssh/ssh_host_* (plain paths match as before)
    ...(o.exclude.some((e) => /[*?[]/.test(e)) ? ['-wildcards'] : []),
    ...(o.exclude.length ? ['-e', ...o.exclude] : []),
  ];
}

/**
 * Run mksquashfs. SOURCE_DATE_EPOCH is kept from it: squashfs-tools 4.5.1 would set every file
 * time to it (losing the package mtimes) and refuses it together with -mkfs-time.
 */
export async function mksquashfs(
  runner: Runner,
  tree: string,
  out: string,
  o: SquashfsOptions,
  context: string,
  step = 'mksquashfs',
): Promise<void> {
  await runner.run(mksquashfsArgv(tree, out, o), {
    ...watchdog(out),
    env: { SOURCE_DATE_EPOCH: undefined },
    context,
    progress: mksquashfsProgress(step),
  });
}

export interface XorrisoIds {
  /** GUID of the GPT that carries the appended ESP (xorriso derives the partition GUIDs from it). */
  gptDiskGuid: string;
  /** SOURCE_DATE_EPOCH: volume dates, boot catalog and file atime/ctime fixed to it (mtimes kept). */
  date?: number;
  volid?: string;
}

export function xorrisoArgv(
  isoRoot: string,
  out: string,
  biosImg: string,
  efiImg: string,
  ids: XorrisoIds,
): string[] {
  return [
    'xorriso',
    '-as',
    'mkisofs',
    '-iso-level',
    '3',
    '-rational-rock',
    '-joliet',
    '-volid',
    ids.volid ?? ISO_VOLUME_ID,
    '--gpt_disk_guid',
    ids.gptDiskGuid,
    ...(ids.date !== undefined
      ? [`--modification-date=${isoVolumeDate(ids.date)}`, '--set_all_file_dates', 'set_to_mtime']
      : []),
    '-output',
    out,
    '--grub2-mbr',
    path.join(GRUB_I386, 'boot_hybrid.img'),
    '-partition_offset',
    '16',
    '--mbr-force-bootable',
    '-append_partition',
    '2',
    '0xef',
    efiImg,
    '-appended_part_as_gpt',
    '-eltorito-catalog',
    'boot/grub/boot.cat',
    '-eltorito-boot',
    'boot/grub/bios.img',
    '-no-emul-boot',
    '-boot-load-size',
    '4',
    '-boot-info-table',
    '--grub2-boot-info',
    '-eltorito-alt-boot',
    '-e',
    '--interval:appended_partition_2:all::',
    '-no-emul-boot',
    '-graft-points',
    isoRoot,
    `/boot/grub/bios.img=${biosImg}`,
  ];
}

/** live-boot's filesystem.module: images bottom first (it stacks later ones on top). */
export function liveModuleList(names: readonly string[]): string {
  return `${names.join('\n')}\n`;
}

export interface ConfigDrive {
  metaData?: string;
  /** Bytes as given: user data may be binary (gzip, a MIME multipart archive). */
  userData?: Buffer;
  networkData?: string;
}

/** Largest config-drive file read: user data (cloud-init takes far less), and the JSON files. */
export const CONFIG_DRIVE_LIMITS = { userData: 16 * 1024 * 1024, json: 1024 * 1024 } as const;

/** meta_data.json for the config drive when none is given (pure). */
export function defaultMetaData(uuid: string, hostname: string, name: string): string {
  return `${JSON.stringify({ uuid, hostname, name, launch_index: 0 }, null, 2)}\n`;
}

export function readConfigDrive(files: {
  metaData?: string;
  userData?: string;
  networkData?: string;
}): ConfigDrive {
  // a regular file of bounded size only: a folder, /dev/zero or a FIFO is an error, not a hang
  const read = (f: string | undefined, flag: string, limit: number): Buffer | undefined => {
    if (f === undefined) return undefined;
    if (!existsSync(f))
      throw new UserError(`${flag} file not found: ${f}`, `check the path given to ${flag}`);
    const st = statSync(f);
    if (!st.isFile())
      throw new UserError(
        `${flag} ${f} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}`,
        `give ${flag} a file`,
      );
    if (st.size > limit)
      throw new UserError(
        `${flag} ${f} is ${st.size} bytes, more than the ${limit} allowed`,
        `a config drive carries small files; check the path given to ${flag}`,
      );
    return readFileSync(f);
  };
  const cd = {
    metaData: read(files.metaData, '--meta-data', CONFIG_DRIVE_LIMITS.json)?.toString('utf8'),
    userData: read(files.userData, '--user-data', CONFIG_DRIVE_LIMITS.userData),
    networkData: read(files.networkData, '--network-data', CONFIG_DRIVE_LIMITS.json)?.toString('utf8'),
  };
  for (const [k, flag] of [
    ['metaData', '--meta-data'],
    ['networkData', '--network-data'],
  ] as const) {
    const v = cd[k];
    if (v === undefined) continue;
    try {
      JSON.parse(v);
    } catch (e) {
      throw new UserError(
        `${flag} ${files[k]} is not valid JSON: ${(e as Error).message}`,
        'OpenStack config drives carry JSON here',
      );
    }
  }
  return cd;
}

export interface IsoInputs {
  /** The configured tree (read-only view). */
  tree: string;
  work: string;
  out: string;
  kernelVersion: string;
  cmdline: string[];
  marker: string;
  title: string;
  squashfs: SquashfsOptions;
  /**
   * Layered live filesystem: the base squashfs (built once per rootfs, cached) plus one small
   * squashfs per configuration layer (overlayfs upper dirs, whiteouts included), stacked by
   * live-boot in the order of live/filesystem.module. Without it, one squashfs of `tree`.
   */
  layered?: { base: string; layers: { name: string; dir: string }[] };
  configDrive: ConfigDrive & { generatedMetaData: string };
  /** Seed of the ISO's generated ids (GPT GUIDs): stable per profile and rootfs. */
  idSeed: string;
  /** SOURCE_DATE_EPOCH: every time the ISO records is fixed by it (see README "Reproducible outputs"). */
  sourceDateEpoch?: number;
  /** The xorriso command as planned (isoCommand, paths filled in); made here when absent. */
  command?: string[];
  /** The distro's signed UEFI chain (Secure Boot), or undefined for ib-native's own GRUB. */
  signedChain?: SignedBootChain;
}

/** The file a CD's signed GRUB searches for when it booted from the FAT image (its /boot/grub is on the ISO). */
export const DISK_INFO = '.disk/info';

/** Where buildIso stages the ISO's tree and boot images inside its work folder. */
export function isoWorkPaths(work: string) {
  return {
    root: path.join(work, 'iso-root'),
    biosImg: path.join(work, 'bios.img'),
    efiImg: path.join(work, 'efiboot.img'),
  };
}

/** The command that writes the ISO (pure): planned by the iso format, run by buildIso. */
export function isoCommand(work: string, out: string, idSeed: string, sourceDateEpoch?: number): string[] {
  const p = isoWorkPaths(work);
  return xorrisoArgv(p.root, out, p.biosImg, p.efiImg, {
    gptDiskGuid: stableUuid(`${idSeed}:iso:gpt`),
    date: sourceDateEpoch,
  });
}

/** The config drive's files into an ISO tree's openstack/latest, replacing what a previous site left there. */
function writeConfigDrive(root: string, cd: IsoInputs['configDrive']): void {
  const latest = path.join(root, 'openstack/latest');
  rmSync(latest, { recursive: true, force: true });
  mkdirSync(latest, { recursive: true });
  writeFileSync(path.join(latest, 'meta_data.json'), cd.metaData ?? cd.generatedMetaData);
  if (cd.userData !== undefined) writeFileSync(path.join(latest, 'user_data'), cd.userData);
  if (cd.networkData !== undefined) writeFileSync(path.join(latest, 'network_data.json'), cd.networkData);
}

/**
 * One more site's ISO (`build --site`): the ISO tree and boot images the first site's buildIso
 * left in `work`, with this site's config drive, written by xorriso. About one xorriso run.
 */
export async function repackIso(
  runner: Runner,
  logger: Logger,
  i: Pick<IsoInputs, 'work' | 'out' | 'configDrive' | 'idSeed' | 'sourceDateEpoch' | 'command'> & {
    site: string;
  },
): Promise<void> {
  const { root } = isoWorkPaths(i.work);
  if (!existsSync(path.join(root, 'live')))
    throw new InternalError(`repackIso: no ISO tree in ${i.work} (the first site's ISO makes it)`);
  writeConfigDrive(root, i.configDrive);
  if (i.sourceDateEpoch !== undefined) clampTimes(path.join(root, 'openstack'), i.sourceDateEpoch);
  logger.info(`iso: xorriso for site ${i.site} (the ISO tree of the first site, this site's config drive)`);
  await runner.run(i.command ?? isoCommand(i.work, i.out, i.idSeed, i.sourceDateEpoch), {
    context: `writing the ISO of site ${i.site}`,
  });
}

/** A site folder's name names its ISO (`<profile>-<site>.iso`): this grammar keeps it a plain file name. */
export const SITE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Files a site folder may hold: the config drive of that site's ISO. */
export const SITE_FILES = {
  userData: 'user_data',
  metaData: 'meta_data.json',
  networkData: 'network_data.json',
} as const;

/** A `--site` folder: its name, checked, and its config drive (at least one of SITE_FILES). */
export function readSite(dir: string): { name: string; configDrive: ConfigDrive } {
  const name = path.basename(path.resolve(dir));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(
      `--site ${dir} is not a folder`,
      `give --site a folder holding ${Object.values(SITE_FILES).join(', ')}`,
    );
  if (!SITE_NAME.test(name))
    throw new UserError(
      `--site ${dir}: the folder name ${JSON.stringify(name)} cannot name an ISO`,
      'name site folders with letters, digits, _ . - (the ISO is <profile>-<folder name>.iso)',
    );
  const files = Object.fromEntries(
    Object.entries(SITE_FILES).map(([k, f]) => [
      k,
      existsSync(path.join(dir, f)) ? path.join(dir, f) : undefined,
    ]),
  ) as { userData?: string; metaData?: string; networkData?: string };
  if (!Object.values(files).some(Boolean))
    throw new UserError(
      `--site ${dir} holds none of ${Object.values(SITE_FILES).join(', ')}`,
      "put the site's config drive files in it (OpenStack config-drive names)",
    );
  return { name, configDrive: readConfigDrive(files) };
}

export async function buildIso(runner: Runner, logger: Logger, i: IsoInputs): Promise<void> {
  const { root, biosImg, efiImg } = isoWorkPaths(i.work);
  for (const d of ['live', 'boot/grub', 'openstack/latest'])
    mkdirSync(path.join(root, d), { recursive: true });

  const squash = path.join(root, 'live/filesystem.squashfs');
  if (i.layered) {
    await runner.run(['cp', '--reflink=auto', '--', i.layered.base, squash], {
      context: 'copying the live base squashfs into the ISO tree',
    });
    const names = ['filesystem.squashfs'];
    // the opaque folders of each layer but the first (those of a later layer hide what is below them)
    const opaque = new Map<string, Set<string>>();
    for (const layer of i.layered.layers.slice(1))
      opaque.set(layer.name, await opaqueFoldersOf(runner, layer.dir));
    for (const [n, layer] of i.layered.layers.entries()) {
      const file = `${layer.name}.squashfs`;
      logger.info(`iso: mksquashfs of the ${layer.name} layer`);
      const stage = path.join(i.work, layer.name);
      await runner.run(layerCopyArgv(layer.dir, stage), { context: `copying the ${layer.name} layer` });
      // what a later layer hides (removes, replaces) is left out: a whiteout does not delete
      for (const later of i.layered.layers.slice(n + 1)) {
        const hidden = pruneHidden(stage, later.dir, opaque.get(later.name));
        if (hidden.length)
          logger.debug(
            `iso: ${hidden.length} path(s) of ${layer.name} hidden by ${later.name} left out: ${hidden.join(' ')}`,
          );
      }
      if (i.sourceDateEpoch !== undefined) clampTimes(stage, i.sourceDateEpoch);
      const out = path.join(root, 'live', file);
      const opts = { ...i.squashfs, exclude: [], mkfsTime: i.sourceDateEpoch };
      await mksquashfs(
        runner,
        stage,
        out,
        opts,
        `creating the ${layer.name} layer squashfs`,
        `mksquashfs ${layer.name}`,
      );
      await removeTree(runner, stage);
      names.push(file);
    }
    writeFileSync(path.join(root, 'live/filesystem.module'), `${liveModuleList(names)}`);
  } else {
    logger.info(`iso: mksquashfs (${i.squashfs.compression}, ${i.squashfs.threads} threads)`);
    await mksquashfs(runner, i.tree, squash, i.squashfs, 'creating the live squashfs');
  }
  copyFileSync(path.join(i.tree, 'boot', `vmlinuz-${i.kernelVersion}`), path.join(root, 'boot/vmlinuz'));
  copyFileSync(
    path.join(i.tree, 'boot', `initrd.img-${i.kernelVersion}`),
    path.join(root, 'boot/initrd.img'),
  );
  writeFileSync(path.join(root, i.marker), `${i.title}\n`);

  const cfg = renderGrubCfg({
    timeout: 0,
    finder: { kind: 'file', file: `/${i.marker}` },
    // the signed GRUB of some distros has no serial terminal (and loads no module under Secure Boot)
    serial: i.signedChain && !i.signedChain.grubSerial ? 'bios-only' : true,
    entries: [
      {
        title: i.title,
        kernel: '/boot/vmlinuz',
        initrd: '/boot/initrd.img',
        cmdline: i.cmdline,
      } satisfies MenuEntry,
    ],
  });
  writeFileSync(path.join(root, 'boot/grub/grub.cfg'), cfg);

  if (i.signedChain) {
    mkdirSync(path.join(root, '.disk'), { recursive: true });
    writeFileSync(path.join(root, DISK_INFO), `${i.title}\n`);
  }

  writeConfigDrive(root, i.configDrive);

  const early = path.join(i.work, 'early-grub.cfg');
  writeFileSync(early, renderEarlyConfig({ kind: 'file', file: `/${i.marker}` }, '/boot/grub/grub.cfg'));
  const sde = i.sourceDateEpoch;
  const standalone = async (format: StandaloneFormat, output: string) =>
    buildStandaloneImage(runner, { format, output, earlyCfg: early, work: i.work, mtime: sde ?? 0 });
  await standalone('i386-pc-eltorito', biosImg);
  let esp: EspFile[];
  if (i.signedChain) esp = isoEspFiles({ chain: i.signedChain, tree: i.tree }, early);
  else {
    const efi = path.join(i.work, 'bootx64.efi');
    await standalone('x86_64-efi', efi);
    esp = isoEspFiles({ standalone: efi }, early);
  }
  await makeEfiImage(runner, esp, efiImg, undefined, sde);
  // the ISO records each file's mtime (atime and ctime are set to it by xorriso)
  if (sde !== undefined) for (const t of [root, biosImg]) clampTimes(t, sde);
  logger.info('iso: xorriso');
  await runner.run(i.command ?? isoCommand(i.work, i.out, i.idSeed, sde), { context: 'writing the ISO' });
}

/**
 * The El Torito FAT image holding the UEFI boot files, filled with mtools (no vfat mount needed).
 * Fixed volume id; `--invariant` makes mkfs.vfat's time fields constants; mtools dates its
 * directory entries with SOURCE_DATE_EPOCH when given.
 */
export async function makeEfiImage(
  runner: Runner,
  files: readonly EspFile[],
  out: string,
  volumeId = '1B00C0DE',
  sourceDateEpoch?: number,
): Promise<void> {
  const bytes = files.reduce((sum, f) => sum + statSync(f.from).size, 0);
  const kib = Math.ceil(bytes / 1024) + 1024;
  await runner.run([
    'mkfs.vfat',
    '-C',
    '--invariant',
    '-i',
    volumeId,
    '-n',
    'EFIBOOT',
    out,
    String(Math.max(kib, 2048)),
  ]);
  await copyIntoFat(runner, out, files, sourceDateEpoch);
}

/**
 * overlayfs bookkeeping in an upper folder that says nothing about the files: the overlay's
 * random uuid (kernel 6.6+), file handles of the lower inodes a file was copied up from (those
 * of a fresh common layer change with every build) and the impure marks. Left out of the live
 * layers; opaque, redirect and metacopy marks stay (live-boot's overlay needs them).
 */
export const OVERLAY_PRIVATE_XATTRS = [
  'trusted.overlay.uuid',
  'trusted.overlay.origin',
  'trusted.overlay.impure',
];

/** rsync argv copying an overlay upper folder (whiteouts, times, xattrs) without its bookkeeping. */
export function layerCopyArgv(upper: string, to: string): string[] {
  const argv = rsyncArgv(upper, to, []);
  return [
    ...argv.slice(0, -2),
    // with an xattr rule rsync leaves the namespace choice to us: ACLs come with --acls
    ...[...OVERLAY_PRIVATE_XATTRS, 'system.*'].map((x) => `--filter=-x ${x}`),
    ...argv.slice(-2),
  ];
}
