import { convertDisk, type DiskFormat, diskConvertArgv, QEMU_IMG_OPTIONS } from '../stages/disk-convert.ts';
import { diskSeed } from './families.ts';
import type { ImageFormat } from './types.ts';

/**
 * raw, VMDK and VHDX: the disk family's finished raw disk converted (qemu-img; raw is a sparse
 * copy), ids qemu-img draws at random derived from the disk's seed when reproducible, and the
 * result checked with `qemu-img info`/`check` (src/stages/disk-convert.ts).
 */
function diskImage(name: DiskFormat, describe: string): ImageFormat<'disk'> {
  return {
    name,
    family: 'disk',
    plan: () => ({ describe, commands: [diskConvertArgv(name, '{raw}', '{out}')] }),
    async make(c) {
      await convertDisk(c.runner, c.logger, {
        raw: c.product.raw,
        out: c.paths.out,
        format: name,
        virtualBytes: c.plan.layout!.sizeBytes,
        ...(c.sourceDateEpoch !== undefined && { reproducibleSeed: diskSeed(c.plan) }),
        finalName: c.finalName,
        command: c.commands[0],
      });
    },
  };
}

export const raw = diskImage('raw', 'sparse raw disk (a copy of the finished disk, holes kept)');
export const vmdk = diskImage('vmdk', `VMDK (${QEMU_IMG_OPTIONS.vmdk})`);
export const vhdx = diskImage('vhdx', `VHDX (${QEMU_IMG_OPTIONS.vhdx})`);
