import { ops } from '../ops/types.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'hostname';

/** /etc/hostname and /etc/hosts; cloud-init replaces both at deploy time. */
export const hostnameModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const hosts = ['127.0.0.1 localhost', ...(p.hostname === 'localhost' ? [] : [`127.0.1.1 ${p.hostname}`])];
    return ops(
      NAME,
      undefined,
      { kind: 'writeFile', path: '/etc/hostname', mode: '0644', content: `${p.hostname}\n` },
      {
        kind: 'writeFile',
        path: '/etc/hosts',
        mode: '0644',
        content: `${header('hostname')}${hosts.join('\n')}\n`,
      },
    );
  },
};
