import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLOUD_INIT_LOCALE, localeModule } from '../../../src/modules/locale.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('locale: /etc/default/locale sets LANGUAGE, LANG, LC_ALL and LC_TERMINAL', () => {
  const ops = localeModule.plan(profile({ locale: 'C.UTF-8' }));
  assert.is(
    withoutHeader(written(ops, '/etc/default/locale')),
    'LANGUAGE=C.UTF-8\nLANG=C.UTF-8\nLC_ALL=C.UTF-8\nLC_TERMINAL=C.UTF-8\n',
  );
  assert.equal(localeModule.plan(profile()), []);
});

test('locale: cloud-init keeps the image locale, and leaves an unset one alone, instead of its en_US.UTF-8', () => {
  const withCloudInit = (o: object) => localeModule.plan(profile({ packages: ['cloud-init'], ...o }));
  assert.is(withoutHeader(written(withCloudInit({ locale: 'C' }), CLOUD_INIT_LOCALE)), 'locale: "C"\n');
  assert.is(withoutHeader(written(withCloudInit({}), CLOUD_INIT_LOCALE)), 'locale: "false"\n');
  assert.is(
    withoutHeader(written(localeModule.plan(profile({ cloudInit: {} })), CLOUD_INIT_LOCALE)),
    'locale: "false"\n',
  );
  // no cloud-init in the image: nothing to tell it
  assert.not.ok(
    localeModule.plan(profile({ locale: 'C' })).some((o) => 'path' in o && o.path === CLOUD_INIT_LOCALE),
  );
});

test('locale: a value that is not a locale name is an error', () => {
  assert.equal(
    localeModule.validate!(profile({ locale: 'C\nLD_PRELOAD=/x' })).map((i) => i.path),
    ['locale'],
  );
  assert.equal(localeModule.validate!(profile({ locale: 'en_US.UTF-8' })), []);
});

test.run();
