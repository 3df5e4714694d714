import { ops } from '../ops/types.ts';
import { sessionPathIssues } from './paths.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'filePermissions';

/** Mode and ownership of files that already exist (from packages or earlier modules). */
export const filePermissionsModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.filePermissions ?? []).flatMap(({ path, mode, owner, group, contexts }) =>
      ops(NAME, contexts, { kind: 'chmod', path, mode, owner, group }),
    );
  },
  validate(p) {
    return [
      ...(p.filePermissions ?? []).flatMap((f, i) =>
        f.mode === undefined && f.owner === undefined && f.group === undefined
          ? [{ path: `filePermissions[${i}]`, message: 'changes nothing; give mode, owner or group' }]
          : [],
      ),
      ...sessionPathIssues('filePermissions', p.filePermissions ?? []),
    ];
  },
};
