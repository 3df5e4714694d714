import { existsSync, statSync } from 'node:fs';
import { type OpBody, ops } from '../ops/types.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'userScripts';

export const SCRIPTS_DIR = '/var/tmp/ib-native';

/** Constant launcher: runs "$1" itself when it has a #! line, else with /bin/sh (scripts need not be executable-ready). */
const LAUNCH = 'case "$(head -c 2 "$1")" in "#!") exec "$1" ;; *) exec /bin/sh "$1" ;; esac';

/** User scripts: each copied into the image, run in the chroot, then removed. */
export const userScriptsModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.userScripts ?? []).flatMap((s) => {
      const path = `${SCRIPTS_DIR}/${s.name}`;
      const place: OpBody =
        s.content !== undefined
          ? { kind: 'writeFile', path, content: s.content, mode: '0755' }
          : { kind: 'copyIn', source: s.file!, path, mode: '0755' };
      return ops(
        NAME,
        s.contexts,
        place,
        { kind: 'run', argv: ['/bin/sh', '-c', LAUNCH, 'sh', path], description: `user script ${s.name}` },
        { kind: 'remove', path },
      );
    });
  },
  validate(p) {
    return (p.userScripts ?? []).flatMap((s, i) =>
      s.file !== undefined && !(existsSync(s.file) && statSync(s.file).isFile())
        ? [
            {
              path: `userScripts[${i}].file`,
              message: `${s.file} is not a file (paths are relative to the profile)`,
            },
          ]
        : [],
    );
  },
};
