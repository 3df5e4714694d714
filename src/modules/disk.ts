import { computeLayout } from '../disk/layout.ts';
import { familyOf } from '../profile/formats.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'disk';

/**
 * The QCOW2 partition layout, checked before any work starts: every problem with its field path
 * (order, overlaps, one root, bios_grub, ESP size, fits the disk). The checks live with the
 * partition math in ../disk/layout.ts, so the plan and the build cannot disagree.
 */
export const diskModule: ConfigModule = {
  name: NAME,
  plan: () => [],
  validate(p) {
    if (!p.formats.some((f) => familyOf(f) === 'disk') || !p.disk?.partitions) return [];
    if (p.disk.size?.endsWith('%'))
      return [{ path: 'disk.size', message: 'must be an absolute size such as 19G' }];
    return computeLayout(p.disk.size, p.disk.partitions).issues;
  },
};
