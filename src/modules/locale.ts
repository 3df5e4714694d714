import { type OpBody, ops } from '../ops/types.ts';
import { CLOUD_CFG_DIR, hasCloudInit } from './cloud-init.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'locale';

const VARIABLES = ['LANGUAGE', 'LANG', 'LC_ALL', 'LC_TERMINAL'];

/** Where the image tells cloud-init which locale to keep. */
export const CLOUD_INIT_LOCALE = `${CLOUD_CFG_DIR}/92_ib_native_locale.cfg`;

/**
 * System locale: /etc/default/locale sets every variable of the original to the profile's locale.
 * In an image with cloud-init, cloud-init is told the same (`locale: "false"`, leave it alone, when
 * the profile sets none): otherwise its locale module switches to en_US.UTF-8 at first boot,
 * generating it (minutes under TCG; on Ubuntu it installs `locales` over the network first) or
 * failing where the locale is missing. A user-data `locale:` still wins.
 */
export const localeModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const bodies: OpBody[] = [];
    if (p.locale !== undefined)
      bodies.push({
        kind: 'writeFile',
        path: '/etc/default/locale',
        mode: '0644',
        content: `${header('locale')}${VARIABLES.map((v) => `${v}=${p.locale}\n`).join('')}`,
      });
    if (hasCloudInit(p))
      bodies.push({
        kind: 'writeFile',
        path: CLOUD_INIT_LOCALE,
        mode: '0644',
        // quoted: a name YAML would read as another type (no, off, 1) stays a string. "false" too:
        // cloud-init's schema (22.4, bookworm) wants a string and logs "Invalid cloud-config" for a
        // boolean, while its locale module skips any false-like value, string or not
        content: `${header('locale')}locale: ${JSON.stringify(p.locale ?? 'false')}\n`,
      });
    return ops(NAME, undefined, ...bodies);
  },
  validate(p) {
    if (p.locale === undefined || /^[A-Za-z0-9_.@-]+$/.test(p.locale)) return [];
    return [{ path: 'locale', message: 'must be a locale name such as C, C.UTF-8 or en_US.UTF-8' }];
  },
};
