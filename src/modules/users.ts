import { type OpBody, ops } from '../ops/types.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'users';

/** Constant script: create user "$1" (with a home and its own group) unless it exists. */
const CREATE_IF_MISSING = 'id -u "$1" >/dev/null 2>&1 || useradd --create-home --user-group "$1"';

/** User accounts: created if missing, then shell, password hash, lock and extra groups set with argv commands. */
export const usersModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.users ?? []).flatMap((u) => {
      const bodies: OpBody[] = [];
      if (u.create !== false)
        bodies.push({
          kind: 'run',
          argv: ['/bin/sh', '-c', CREATE_IF_MISSING, 'sh', u.name],
          description: `create user ${u.name} if missing`,
        });
      if (u.shell !== undefined)
        bodies.push({
          kind: 'run',
          argv: ['usermod', '--shell', u.shell, u.name],
          description: `set the shell of ${u.name}`,
        });
      if (u.groups?.length)
        bodies.push({
          kind: 'run',
          argv: ['usermod', '--append', '--groups', u.groups.join(','), u.name],
          description: `add ${u.name} to groups ${u.groups.join(', ')}`,
        });
      // the hash goes on stdin: an argv is readable by every process (/proc/*/cmdline) and logged
      if (u.passwordHash !== undefined)
        bodies.push({
          kind: 'run',
          argv: ['chpasswd', '--encrypted'],
          stdin: `${u.name}:${u.passwordHash}\n`,
          description: `set the password hash of ${u.name}`,
        });
      if (u.passwordLock)
        bodies.push({
          kind: 'run',
          argv: ['passwd', '--lock', u.name],
          description: `lock the password of ${u.name}`,
        });
      return ops(NAME, u.contexts, ...bodies);
    });
  },
  validate(p) {
    return (p.users ?? []).flatMap((u, i) =>
      u.shell !== undefined && !u.shell.startsWith('/')
        ? [{ path: `users[${i}].shell`, message: 'must be an absolute path such as /bin/bash' }]
        : [],
    );
  },
};
