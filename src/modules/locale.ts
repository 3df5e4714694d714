import { ops } from '../ops/types.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'locale';

const VARIABLES = ['LANGUAGE', 'LANG', 'LC_ALL', 'LC_TERMINAL'];

/** System locale: /etc/default/locale sets every variable of the original to the profile's locale. */
export const localeModule: ConfigModule = {
  name: NAME,
  plan(p) {
    if (p.locale === undefined) return [];
    return ops(NAME, undefined, {
      kind: 'writeFile',
      path: '/etc/default/locale',
      mode: '0644',
      content: `${header('locale')}${VARIABLES.map((v) => `${v}=${p.locale}\n`).join('')}`,
    });
  },
  validate(p) {
    if (p.locale === undefined || /^[A-Za-z0-9_.@-]+$/.test(p.locale)) return [];
    return [{ path: 'locale', message: 'must be a locale name such as C, C.UTF-8 or en_US.UTF-8' }];
  },
};
