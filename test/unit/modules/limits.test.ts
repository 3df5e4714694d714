import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { limitsModule } from '../../../src/modules/limits.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('limits: one file per entry, "domain type item value", entry contexts honoured', () => {
  const ops = limitsModule.plan(
    profile({
      limits: [
        { name: 'core_dump', domain: '0:', type: 'hard', item: 'core', value: 0 },
        {
          name: 'nofile-all-soft',
          domain: '*',
          type: 'soft',
          item: 'nofile',
          value: 65536,
          contexts: ['qcow2'],
        },
      ],
    }),
  );
  assert.is(withoutHeader(written(ops, '/etc/security/limits.d/99-core_dump.conf')), '0: hard core 0\n');
  assert.is(
    withoutHeader(written(ops, '/etc/security/limits.d/99-nofile-all-soft.conf')),
    '* soft nofile 65536\n',
  );
  assert.equal(
    ops.map((o) => o.contexts),
    [['common'], ['disk']],
  );
});

test('limits: a domain with a space is an error', () => {
  const issues = limitsModule.validate!(
    profile({ limits: [{ name: 'x', domain: 'a b', type: '-', item: 'nproc', value: 'unlimited' }] }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['limits[0].domain'],
  );
});

test.run();
