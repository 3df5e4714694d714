import { ops } from '../ops/types.ts';
import { header, singleLineIssues } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'nicNaming';

export const DEFAULT_LINK = '/etc/systemd/network/99-default.link';

/** Network interface naming policy for every NIC (systemd .link file matching all of them). */
export const nicNamingModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const n = p.nicNaming;
    if (!n) return [];
    const link = [
      ...(n.namePolicy !== undefined ? [`NamePolicy=${n.namePolicy}`] : []),
      ...(n.alternativeNamesPolicy !== undefined
        ? [`AlternativeNamesPolicy=${n.alternativeNamesPolicy}`]
        : []),
      ...(n.macAddressPolicy !== undefined ? [`MACAddressPolicy=${n.macAddressPolicy}`] : []),
    ];
    return ops(NAME, undefined, {
      kind: 'writeFile',
      path: DEFAULT_LINK,
      mode: '0644',
      content: `${header('nicNaming')}[Match]\nOriginalName=*\n\n[Link]\n${link.map((l) => `${l}\n`).join('')}`,
    });
  },
  validate(p) {
    const n = p.nicNaming ?? {};
    return singleLineIssues([
      ['nicNaming.namePolicy', n.namePolicy],
      ['nicNaming.alternativeNamesPolicy', n.alternativeNamesPolicy],
      ['nicNaming.macAddressPolicy', n.macAddressPolicy],
    ]);
  },
};
