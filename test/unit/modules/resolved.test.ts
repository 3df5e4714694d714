import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RESOLVED_DROPIN, resolvedModule } from '../../../src/modules/resolved.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('resolved: drop-in sets StartLimitBurst', () => {
  assert.is(
    withoutHeader(
      written(resolvedModule.plan(profile({ resolved: { startLimitBurst: 0 } })), RESOLVED_DROPIN),
    ),
    '[Unit]\nStartLimitBurst=0\n',
  );
  assert.equal(resolvedModule.plan(profile({ resolved: {} })), []);
});

test.run();
