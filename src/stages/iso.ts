import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { mksquashfsProgress } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import { watchdog } from '../run/watchdog.ts';
import { GRUB_I386, type MenuEntry, mkstandaloneArgv, renderEarlyConfig, renderGrubCfg } from './grub.ts';

export const ISO_VOLUME_ID = 'config-2';

export interface SquashfsOptions {
  compression: 'gzip' | 'lz4' | 'lzo' | 'xz' | 'zstd';
  threads: number;
  /** Paths (relative to the tree) left out. */
  exclude: string[];
  /** Fixed timestamps for reproducible output. */
  sourceDateEpoch?: number;
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
    '-processors',
    String(o.threads),
    ...(o.sourceDateEpoch !== undefined
      ? ['-mkfs-time', String(o.sourceDateEpoch), '-all-time', String(o.sourceDateEpoch)]
      : []),
    // -wildcards: exclude patterns such as etc/ssh/ssh_host_* (plain paths match as before)
    ...(o.exclude.some((e) => /[*?[]/.test(e)) ? ['-wildcards'] : []),
    ...(o.exclude.length ? ['-e', ...o.exclude] : []),
  ];
}

export function xorrisoArgv(
  isoRoot: string,
  out: string,
  biosImg: string,
  efiImg: string,
  volid = ISO_VOLUME_ID,
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
    volid,
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
  userData?: string;
  networkData?: string;
}

/** meta_data.json for the config drive when none is given (pure). */
export function defaultMetaData(uuid: string, hostname: string, name: string): string {
  return `${JSON.stringify({ uuid, hostname, name, launch_index: 0 }, null, 2)}\n`;
}

export function readConfigDrive(files: {
  metaData?: string;
  userData?: string;
  networkData?: string;
}): ConfigDrive {
  const read = (f: string | undefined, flag: string) => {
    if (f === undefined) return undefined;
    if (!existsSync(f))
      throw new UserError(`${flag} file not found: ${f}`, `check the path given to ${flag}`);
    return readFileSync(f, 'utf8');
  };
  const cd = {
    metaData: read(files.metaData, '--meta-data'),
    userData: read(files.userData, '--user-data'),
    networkData: read(files.networkData, '--network-data'),
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
}

export async function buildIso(runner: Runner, logger: Logger, i: IsoInputs): Promise<void> {
  const root = path.join(i.work, 'iso-root');
  for (const d of ['live', 'boot/grub', 'openstack/latest'])
    mkdirSync(path.join(root, d), { recursive: true });

  const squash = path.join(root, 'live/filesystem.squashfs');
  if (i.layered) {
    await runner.run(['cp', '--reflink=auto', '--', i.layered.base, squash], {
      context: 'copying the live base squashfs into the ISO tree',
    });
    const names = ['filesystem.squashfs'];
    for (const layer of i.layered.layers) {
      const file = `${layer.name}.squashfs`;
      logger.info(`iso: mksquashfs of the ${layer.name} layer`);
      const out = path.join(root, 'live', file);
      await runner.run(mksquashfsArgv(layer.dir, out, { ...i.squashfs, exclude: [] }), {
        ...watchdog(out),
        context: `creating the ${layer.name} layer squashfs`,
        progress: mksquashfsProgress(`mksquashfs ${layer.name}`),
      });
      names.push(file);
    }
    writeFileSync(path.join(root, 'live/filesystem.module'), `${liveModuleList(names)}`);
  } else {
    logger.info(`iso: mksquashfs (${i.squashfs.compression}, ${i.squashfs.threads} threads)`);
    await runner.run(mksquashfsArgv(i.tree, squash, i.squashfs), {
      ...watchdog(squash),
      context: 'creating the live squashfs',
      progress: mksquashfsProgress('mksquashfs'),
    });
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
    serial: true,
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

  const latest = path.join(root, 'openstack/latest');
  writeFileSync(
    path.join(latest, 'meta_data.json'),
    i.configDrive.metaData ?? i.configDrive.generatedMetaData,
  );
  if (i.configDrive.userData !== undefined)
    writeFileSync(path.join(latest, 'user_data'), i.configDrive.userData);
  if (i.configDrive.networkData !== undefined)
    writeFileSync(path.join(latest, 'network_data.json'), i.configDrive.networkData);

  const early = path.join(i.work, 'early-grub.cfg');
  writeFileSync(early, renderEarlyConfig({ kind: 'file', file: `/${i.marker}` }, '/boot/grub/grub.cfg'));
  const biosImg = path.join(i.work, 'bios.img');
  const efi = path.join(i.work, 'bootx64.efi');
  await runner.run(mkstandaloneArgv('i386-pc-eltorito', biosImg, early), {
    context: 'building the BIOS boot image',
  });
  await runner.run(mkstandaloneArgv('x86_64-efi', efi, early), { context: 'building the UEFI boot image' });
  const efiImg = path.join(i.work, 'efiboot.img');
  await makeEfiImage(runner, efi, efiImg);
  logger.info('iso: xorriso');
  await runner.run(xorrisoArgv(root, i.out, biosImg, efiImg), { context: 'writing the ISO' });
}

/** A FAT image holding EFI/BOOT/BOOTX64.EFI, filled with mtools (no vfat mount needed). */
export async function makeEfiImage(
  runner: Runner,
  efiBinary: string,
  out: string,
  volumeId = '1B00C0DE',
): Promise<void> {
  const kib = Math.ceil(statSync(efiBinary).size / 1024) + 1024;
  await runner.run(['mkfs.vfat', '-C', '-i', volumeId, '-n', 'EFIBOOT', out, String(Math.max(kib, 2048))]);
  await runner.run(['mmd', '-i', out, '::/EFI', '::/EFI/BOOT']);
  await runner.run(['mcopy', '-i', out, efiBinary, '::/EFI/BOOT/BOOTX64.EFI']);
}
