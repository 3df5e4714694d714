import { ops } from '../ops/types.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'limits';

/** Security limits: one /etc/security/limits.d/99-NAME.conf per entry, `domain type item value`. */
export const limitsModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.limits ?? []).flatMap((l) =>
      ops(NAME, l.contexts, {
        kind: 'writeFile',
        path: `/etc/security/limits.d/99-${l.name}.conf`,
        mode: '0644',
        content: `${header('limits')}${l.domain} ${l.type} ${l.item} ${l.value}\n`,
      }),
    );
  },
  validate(p) {
    return (p.limits ?? []).flatMap((l, i) =>
      /\s/.test(l.domain)
        ? [{ path: `limits[${i}].domain`, message: 'must be one word such as "*", "root", "@group" or "0:"' }]
        : [],
    );
  },
};
