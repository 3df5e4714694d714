import { buildTar, TAR_ZSTD_LEVEL, tarArgv } from '../stages/tar.ts';
import type { ImageFormat } from './types.ts';

/** The configured root filesystem as a zstd tarball: owners by number, xattrs (capabilities), ACLs. */
export const tar: ImageFormat<'tree'> = {
  name: 'tar',
  family: 'tree',
  plan: (plan) => ({
    describe: `tar.zst of the configured tree (zstd -${TAR_ZSTD_LEVEL}, owners by number, xattrs and ACLs kept)`,
    commands: [tarArgv({ tree: '{tree}', out: '{out}', sourceDateEpoch: plan.sourceDateEpoch })],
  }),
  async make(c) {
    await buildTar(c.runner, c.logger, {
      tree: c.product.tree,
      out: c.paths.out,
      sourceDateEpoch: c.sourceDateEpoch,
      command: c.commands[0],
    });
  },
};
