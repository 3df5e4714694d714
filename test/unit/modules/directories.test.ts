import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { directoriesModule } from '../../../src/modules/directories.ts';
import { bodies, profile } from './helpers.ts';

test('directories: mkdir with mode and ownership, in the entry contexts', () => {
  const ops = directoriesModule.plan(
    profile({
      directories: [
        { path: '/opt/site', mode: '0750', owner: 'root', group: 'adm', contexts: ['iso'] },
        { path: '/srv/x' },
      ],
    }),
  );
  assert.equal(bodies(ops), [
    { kind: 'mkdir', path: '/opt/site', mode: '0750', owner: 'root', group: 'adm' },
    { kind: 'mkdir', path: '/srv/x' },
  ]);
  assert.equal(
    ops.map((o) => o.contexts),
    [['live'], ['common']],
  );
});

test.run();
