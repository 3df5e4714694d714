import { qemuImgProgress } from '../run/progress.ts';
import { watchdog } from '../run/watchdog.ts';
import {
  describeQcow2Compression,
  QEMU_IMG_COROUTINES,
  qcow2Compression,
  qemuImgConvertArgv,
} from '../stages/disk.ts';
import { qcow2Delta } from '../stages/qcow2-delta.ts';
import type { ImageFormat } from './types.ts';

/**
 * QCOW2: the finished raw disk converted by qemu-img (zlib clusters by default; in order when
 * reproducible). A compressed QCOW2 whose raw disk is a copy of the cached base disk is made as a
 * delta instead: the base disk's QCOW2 (converted once, cached) with the changed clusters written in.
 */
export const qcow2: ImageFormat<'disk'> = {
  name: 'qcow2',
  family: 'disk',
  plan(plan) {
    const c = qcow2Compression(plan.profile.qcow2);
    const inOrder = plan.sourceDateEpoch !== undefined;
    const delta = c.compress && !inOrder;
    return {
      describe: `QCOW2 (${describeQcow2Compression(c)}${inOrder ? ', clusters in order' : ''})`,
      commands: [
        qemuImgConvertArgv('{raw}', '{out}', c.compress, c.compressionType, QEMU_IMG_COROUTINES, !inOrder),
      ],
      ...(delta
        ? {
            unless:
              'the base disk is cached: its cached QCOW2 with the changed clusters written in (qemu-io)',
          }
        : {}),
    };
  },
  async make(c) {
    const comp = qcow2Compression(c.plan.profile.qcow2);
    const base = c.product.base;
    if (base && comp.compress && c.sourceDateEpoch === undefined) {
      const baseQcow2 = await base.qcow2(comp.compressionType);
      const whole = await qcow2Delta(c.runner, c.logger, {
        raw: c.product.raw,
        baseDisk: base.disk,
        baseQcow2,
        out: c.paths.out,
        work: c.paths.work,
        progress: c.progress,
      });
      if (whole === undefined) return 'skipped';
      c.logger.info(`qcow2: converting the whole raw disk: ${whole}`);
    }
    c.logger.info(`qcow2: ${describeQcow2Compression(comp)}: qemu-img convert`);
    await c.runner.run(c.commands[0]!, {
      ...watchdog(c.paths.out),
      context: 'converting to qcow2',
      progress: qemuImgProgress('qemu-img convert'),
    });
  },
};
