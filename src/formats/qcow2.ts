import { qemuImgProgress } from '../run/progress.ts';
import { watchdog } from '../run/watchdog.ts';
import {
  describeQcow2Compression,
  QEMU_IMG_COROUTINES,
  qcow2Compression,
  qemuImgConvertArgv,
} from '../stages/disk.ts';
import type { ImageFormat } from './types.ts';

/** QCOW2: the finished raw disk converted by qemu-img (zlib clusters by default; in order when reproducible). */
export const qcow2: ImageFormat<'disk'> = {
  name: 'qcow2',
  family: 'disk',
  plan(plan) {
    const c = qcow2Compression(plan.profile.qcow2);
    const inOrder = plan.sourceDateEpoch !== undefined;
    return {
      describe: `QCOW2 (${describeQcow2Compression(c)}${inOrder ? ', clusters in order' : ''})`,
      commands: [
        qemuImgConvertArgv('{raw}', '{out}', c.compress, c.compressionType, QEMU_IMG_COROUTINES, !inOrder),
      ],
    };
  },
  async make(c) {
    c.logger.info(`qcow2: ${this.plan(c.plan).describe}: qemu-img convert`);
    await c.runner.run(c.commands[0]!, {
      ...watchdog(c.paths.out),
      context: 'converting to qcow2',
      progress: qemuImgProgress('qemu-img convert'),
    });
  },
};
