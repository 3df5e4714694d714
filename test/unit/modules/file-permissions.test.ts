import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filePermissionsModule } from '../../../src/modules/file-permissions.ts';
import { bodies, profile } from './helpers.ts';

test('filePermissions: chmod/chown of existing files, in the entry contexts', () => {
  const ops = filePermissionsModule.plan(
    profile({
      filePermissions: [
        { path: '/usr/bin/ping', mode: '4755', owner: 'root', group: 'root', contexts: ['qcow2'] },
      ],
    }),
  );
  assert.equal(bodies(ops), [
    { kind: 'chmod', path: '/usr/bin/ping', mode: '4755', owner: 'root', group: 'root' },
  ]);
  assert.equal(ops[0]!.contexts, ['disk']);
});

test('filePermissions: an entry that changes nothing is an error', () => {
  assert.equal(filePermissionsModule.validate!(profile({ filePermissions: [{ path: '/etc/x' }] })), [
    { path: 'filePermissions[0]', message: 'changes nothing; give mode, owner or group' },
  ]);
});

test.run();
