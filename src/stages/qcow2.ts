import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  fstabUuid,
  type Layout,
  mkfsArgv,
  type PlacedPartition,
  renderFstab,
  sgdiskArgv,
} from '../disk/layout.ts';
import { UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { qemuImgProgress } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import { watchdog } from '../run/watchdog.ts';
import { attach, type BlockDeviceKind } from '../sys/blockdev.ts';
import { withMounts } from '../sys/mounts.ts';
import { GRUB_I386, mkstandaloneArgv, renderEarlyConfig, renderGrubCfg } from './grub.ts';
import { coreEarlyConfig, grubMkimageBiosArgv, writeBiosBoot } from './grub-bios.ts';

export interface Qcow2Inputs {
  tree: string;
  work: string;
  out: string;
  layout: Layout;
  /** Seed for filesystem/partition UUIDs (stable per profile and rootfs). */
  seed: string;
  kernelVersion: string;
  cmdline: string[];
  title: string;
  grubTimeout: number;
  grubSerialCommand?: string;
  blockDevice: BlockDeviceKind;
  registryDir: string;
  compress: boolean;
  compressionType: 'zlib' | 'zstd';
}

export function qemuImgConvertArgv(
  raw: string,
  out: string,
  compress: boolean,
  type: 'zlib' | 'zstd',
  threads = 2,
): string[] {
  return [
    'qemu-img',
    'convert',
    '-f',
    'raw',
    '-O',
    'qcow2',
    ...(compress ? ['-c', '-o', `compression_type=${type}`] : []),
    '-m',
    String(Math.max(1, Math.min(threads, 16))),
    '-W',
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

export function diskGrubCfg(i: Qcow2Inputs): string {
  const { bootPart, prefix } = bootRelative(i.layout);
  const root = i.layout.partitions.find((p) => p.mountpoint === '/')!;
  return renderGrubCfg({
    timeout: i.grubTimeout,
    finder: { kind: 'uuid', uuid: fstabUuid(bootPart, i.seed) },
    serial: true,
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
  i: Pick<Qcow2Inputs, 'layout' | 'seed' | 'blockDevice' | 'registryDir' | 'work'>,
  makeFilesystems: boolean,
  fn: (d: DiskSession) => Promise<void>,
): Promise<void> {
  const dev = await attach(runner, raw, i.layout.partitions.length, i.blockDevice, i.registryDir);
  logger.info(`qcow2: disk attached as ${dev.device} (${dev.kind})`);
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
  extends Pick<Qcow2Inputs, 'layout' | 'seed' | 'blockDevice' | 'registryDir' | 'work'> {
  /** The unconfigured rootfs. */
  tree: string;
  /** Root-relative patterns left out (what finalize removes; see NOT_SHIPPED in modules/finalize.ts). */
  exclude?: readonly string[];
}

/**
 * The base disk of a rootfs: partitioned, filesystems made, the rootfs copied in. Cached per
 * rootfs and layout, so a configuration-only change only syncs the differences into a copy.
 */
export async function buildBaseDisk(
  runner: Runner,
  logger: Logger,
  i: BaseDiskInputs,
  raw: string,
): Promise<void> {
  await runner.run(['truncate', '--size', String(i.layout.sizeBytes), raw]);
  await runner.run(sgdiskArgv(raw, i.layout, i.seed), { context: 'partitioning the disk' });
  await withDisk(runner, logger, raw, i, true, async ({ mnt, fat }) => {
    logger.info('qcow2: copying the base rootfs into the base disk');
    const excludes = [...treeExcludes(fat), ...(i.exclude ?? []).map((p) => `/${p}`)];
    await runner.run(rsyncArgv(i.tree, mnt, excludes), { context: 'copying the rootfs into the disk' });
  });
}

export async function buildQcow2(
  runner: Runner,
  logger: Logger,
  i: Qcow2Inputs & { baseDisk: string },
): Promise<void> {
  const raw = path.join(i.work, 'disk.raw');
  await runner.run(['cp', '--sparse=always', '--reflink=auto', '--', i.baseDisk, raw], {
    context: 'copying the base disk',
  });
  await withDisk(runner, logger, raw, i, false, async ({ mnt, fat, partition }) => {
    logger.info('qcow2: syncing the configured tree into the disk');
    await runner.run([...rsyncArgv(i.tree, mnt, treeExcludes(fat)), '--delete'], {
      context: 'syncing the configured tree into the disk',
    });
    writeFileSync(path.join(mnt, 'etc/fstab'), renderFstab(i.layout, i.seed));
    const bootDir = path.join(mnt, 'boot');
    mkdirSync(path.join(bootDir, 'grub'), { recursive: true });
    writeFileSync(path.join(bootDir, 'grub/grub.cfg'), diskGrubCfg(i));
    logger.info('qcow2: installing GRUB (BIOS, UEFI)');
    // BIOS: GRUB's modules into /boot/grub/i386-pc; core.img is written into bios_grub after detaching
    await runner.run(['rm', '-rf', '--', path.join(bootDir, 'grub/i386-pc')]);
    await runner.run(['cp', '-r', '--', GRUB_I386, path.join(bootDir, 'grub/i386-pc')]);
    const { bootPart, prefix } = bootRelative(i.layout);
    const early = path.join(i.work, 'early-grub-disk.cfg');
    writeFileSync(
      early,
      renderEarlyConfig({ kind: 'uuid', uuid: fstabUuid(bootPart, i.seed) }, `${prefix}/grub/grub.cfg`),
    );
    const efi = path.join(i.work, 'grubx64.efi');
    await runner.run(mkstandaloneArgv('x86_64-efi', efi, early), {
      context: 'building the UEFI boot loader',
    });
    for (const p of fat.filter((f) => f.flags.includes('esp'))) {
      const esp = partition(p.number);
      await runner.run(['mmd', '-D', 's', '-i', esp, '::/EFI', '::/EFI/BOOT'], { okExitCodes: [1] });
      await runner.run(['mcopy', '-o', '-i', esp, efi, '::/EFI/BOOT/BOOTX64.EFI']);
    }
    mkdirSync(path.join(mnt, 'boot/efi'), { recursive: true });
  });
  const biosGrub = i.layout.partitions.find((p) => p.flags.includes('bios_grub'));
  if (biosGrub) {
    const { bootPart, prefix } = bootRelative(i.layout);
    const early = path.join(i.work, 'core-early.cfg');
    writeFileSync(early, coreEarlyConfig(fstabUuid(bootPart, i.seed), `${prefix}/grub`));
    const core = path.join(i.work, 'core.img');
    await runner.run(grubMkimageBiosArgv(core, early, `${prefix}/grub`), {
      context: 'building the BIOS GRUB core image',
    });
    writeBiosBoot(raw, readFileSync(core), biosGrub);
  }
  logger.info(`qcow2: qemu-img convert${i.compress ? ` (compressed, ${i.compressionType})` : ''}`);
  await runner.run(qemuImgConvertArgv(raw, i.out, i.compress, i.compressionType), {
    ...watchdog(i.out),
    context: 'converting to qcow2',
    progress: qemuImgProgress('qemu-img convert'),
  });
}
