import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { usersModule } from '../../../src/modules/users.ts';
import { describeOp } from '../../../src/ops/apply.ts';
import { profile } from './helpers.ts';

const HASH = '$6$salt$0123456789abcdef0123456789abcdef';

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
    ['chpasswd', '--encrypted'],
    ['passwd', '--lock', 'deploy'],
  ]);
});

test('users: the password hash goes on stdin, never into an argv or the described plan', () => {
  const ops = usersModule.plan(profile({ users: [{ name: 'deploy', passwordHash: HASH }] }));
  const set = ops.find((o) => o.kind === 'run' && o.argv[0] === 'chpasswd');
  assert.ok(set && set.kind === 'run');
  assert.is(set.stdin, `deploy:${HASH}\n`);
  for (const op of ops) {
    assert.not.ok(JSON.stringify(op.kind === 'run' ? op.argv : op).includes(HASH), 'hash in an argv');
    assert.not.ok(describeOp(op).includes(HASH), 'hash in the described plan (debug log, ib-native plan)');
  }
});

test('users: create: false only modifies; a relative shell is an error', () => {
  const ops = usersModule.plan(profile({ users: [{ name: 'root', create: false, passwordLock: true }] }));
  assert.equal(
    ops.map((o) => (o.kind === 'run' ? o.argv : [])),
    [['passwd', '--lock', 'root']],
  );
  assert.throws(() => profile({ users: [{ name: 'x', shell: 'bash' }] }), /absolute path/);
  assert.throws(() => profile({ users: [{ name: 'x', shell: '/bin/sh\nx' }] }), /absolute path/);
  assert.throws(() => profile({ users: [{ name: 'x', groups: ['adm\nroot'] }] }), /group name/);
});

test.run();
