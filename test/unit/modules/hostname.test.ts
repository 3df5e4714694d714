import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostnameModule } from '../../../src/modules/hostname.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('hostname: localhost by default, /etc/hosts as the original', () => {
  const ops = hostnameModule.plan(profile());
  assert.is(written(ops, '/etc/hostname'), 'localhost\n');
  assert.is(withoutHeader(written(ops, '/etc/hosts')), '127.0.0.1 localhost\n');
});

test('hostname: another name also resolves locally', () => {
  const ops = hostnameModule.plan(profile({ hostname: 'node1' }));
  assert.is(written(ops, '/etc/hostname'), 'node1\n');
  assert.is(withoutHeader(written(ops, '/etc/hosts')), '127.0.0.1 localhost\n127.0.1.1 node1\n');
});

test.run();
