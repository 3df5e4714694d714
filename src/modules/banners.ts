import { type OpBody, ops } from '../ops/types.ts';
import { withNewline } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'banners';

export const MOTD_DIR = '/etc/update-motd.d';

/** Login banner (/etc/issue) and message of the day: update-motd.d reset to one script, motd-news off. */
export const bannersModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const b = p.banners;
    if (!b) return [];
    const bodies: OpBody[] = [];
    if (b.issue !== undefined)
      bodies.push({ kind: 'writeFile', path: '/etc/issue', mode: '0644', content: withNewline(b.issue) });
    if (b.motd !== undefined)
      bodies.push(
        { kind: 'remove', path: MOTD_DIR },
        { kind: 'mkdir', path: MOTD_DIR, mode: '0755' },
        { kind: 'writeFile', path: `${MOTD_DIR}/00-motd`, mode: '0755', content: withNewline(b.motd) },
        { kind: 'remove', path: '/etc/default/motd-news' },
      );
    return ops(NAME, undefined, ...bodies);
  },
  validate(p) {
    const motd = p.banners?.motd;
    if (motd === undefined || motd.startsWith('#!')) return [];
    return [
      {
        path: 'banners.motd',
        message: 'is run as a script by update-motd; start it with a #! line such as #!/bin/sh',
      },
    ];
  },
};
