import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LINK, nicNamingModule } from '../../../src/modules/nic-naming.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('nicNaming: 99-default.link matching every NIC', () => {
  const ops = nicNamingModule.plan(
    profile({
      nicNaming: {
        namePolicy: 'kernel database onboard path slot',
        alternativeNamesPolicy: 'database onboard path slot',
        macAddressPolicy: 'persistent',
      },
    }),
  );
  assert.is(
    withoutHeader(written(ops, DEFAULT_LINK)),
    '[Match]\nOriginalName=*\n\n[Link]\nNamePolicy=kernel database onboard path slot\nAlternativeNamesPolicy=database onboard path slot\nMACAddressPolicy=persistent\n',
  );
});

test('nicNaming: absent writes nothing; a multi-line policy is an error', () => {
  assert.equal(nicNamingModule.plan(profile()), []);
  assert.equal(
    nicNamingModule.validate!(profile({ nicNaming: { namePolicy: 'a\nb' } })).map((i) => i.path),
    ['nicNaming.namePolicy'],
  );
});

test.run();
