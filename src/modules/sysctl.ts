import { ops } from '../ops/types.ts';
import { header, singleLineIssues } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'sysctl';

export const SYSCTL_FILE = '/etc/sysctl.d/99-ib-native.conf';

/** Kernel parameters: one file, keys sorted so the output does not depend on merge order. */
export const sysctlModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const entries = Object.entries(p.sysctl ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return [];
    return ops(NAME, undefined, {
      kind: 'writeFile',
      path: SYSCTL_FILE,
      mode: '0644',
      content: `${header('sysctl')}${entries.map(([k, v]) => `${k} = ${v}\n`).join('')}`,
    });
  },
  validate(p) {
    return singleLineIssues(Object.entries(p.sysctl ?? {}).map(([k, v]) => [`sysctl.${k}`, v]));
  },
};
