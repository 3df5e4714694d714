import { liveCmdline } from '../modules/grub.ts';
import { buildPxe, renderIpxeScript } from '../stages/pxe.ts';
import type { ImageFormat } from './types.ts';

/**
 * Network boot for bare metal: a `<profile>.pxe/` folder of kernel, initrd, the configured live
 * tree as one root squashfs and an iPXE script (src/stages/pxe.ts). Served from any TFTP/HTTP root;
 * `boot` netboots it over QEMU's own TFTP.
 */
/** The pxe root's compression. */
export const PXE_SQUASHFS = { compression: 'zstd', level: 3 } as const;

export const pxe: ImageFormat<'live'> = {
  name: 'pxe',
  family: 'live',
  plan(plan) {
    // the script is rendered (and its every value checked) at plan time: bad input fails before any work
    renderIpxeScript({ cmdline: liveCmdline(plan.profile) });
    return {
      describe:
        'network boot folder: vmlinuz, initrd.img, filesystem.squashfs (zstd -3) of the configured live tree, boot.ipxe',
      commands: [],
    };
  },
  async make(c) {
    await buildPxe(c.runner, c.logger, {
      tree: c.product.tree,
      out: c.paths.out,
      kernelVersion: c.product.kernelVersion,
      cmdline: liveCmdline(c.profile),
      // the root crosses the network (QEMU's TFTP moves about 1 MiB/s under TCG): zstd at a
      // fast level makes it a third smaller than the ISO's lz4 for a few seconds more of packing
      squashfs: { ...c.product.squashfs, ...PXE_SQUASHFS },
      sourceDateEpoch: c.sourceDateEpoch,
    });
  },
};
