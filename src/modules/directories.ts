import { ops } from '../ops/types.ts';
import { sessionPathIssues } from './paths.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'directories';

/** Directories to create, with mode and ownership. */
export const directoriesModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.directories ?? []).flatMap(({ path, mode, owner, group, contexts }) =>
      ops(NAME, contexts, { kind: 'mkdir', path, mode, owner, group }),
    );
  },
  validate(p) {
    return sessionPathIssues('directories', p.directories ?? []);
  },
};
