import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { usersModule } from '../../../src/modules/users.ts';
import { profile } from './helpers.ts';

const HASH = '$6$salt$0123456789abcdef';

test('users: created if missing, then shell, groups, hash and lock, all as argv', () => {
  const ops = usersModule.plan(
    profile({
      users: [
        {
          name: 'deploy',
          shell: '/bin/bash',
          groups: ['sudo', 'adm'],
          passwordHash: HASH,
          passwordLock: true,
        },
      ],
    }),
  );
  const argvs = ops.map((o) => (o.kind === 'run' ? o.argv : []));
  assert.equal(argvs[0]!.slice(0, 2), ['/bin/sh', '-c']);
  assert.equal(argvs[0]!.slice(3), ['sh', 'deploy']);
  assert.match(argvs[0]![2]!, /id -u "\$1".*\|\| useradd --create-home --user-group "\$1"/);
  assert.equal(argvs.slice(1), [
    ['usermod', '--shell', '/bin/bash', 'deploy'],
    ['usermod', '--append', '--groups', 'sudo,adm', 'deploy'],
    ['usermod', '--password', HASH, 'deploy'],
    ['passwd', '--lock', 'deploy'],
  ]);
});

test('users: create: false only modifies; a relative shell is an error', () => {
  const ops = usersModule.plan(profile({ users: [{ name: 'root', create: false, passwordLock: true }] }));
  assert.equal(
    ops.map((o) => (o.kind === 'run' ? o.argv : [])),
    [['passwd', '--lock', 'root']],
  );
  assert.equal(
    usersModule.validate!(profile({ users: [{ name: 'x', shell: 'bash' }] })).map((i) => i.path),
    ['users[0].shell'],
  );
});

test.run();
