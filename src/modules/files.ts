import { ops } from '../ops/types.ts';
import { sessionPathIssues } from './paths.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'files';

/** Files to write, content exactly as given. */
export const filesModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.files ?? []).flatMap(({ path, content, mode, owner, group, contexts }) =>
      ops(NAME, contexts, { kind: 'writeFile', path, content, mode, owner, group }),
    );
  },
  validate(p) {
    return sessionPathIssues('files', p.files ?? []);
  },
};
