import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filesModule } from '../../../src/modules/files.ts';
import { bodies, profile } from './helpers.ts';

test('files: content written exactly as given, with mode, ownership and contexts', () => {
  const ops = filesModule.plan(
    profile({
      files: [
        {
          path: '/testdir/test.sh',
          content: '#!/bin/bash\necho hello world',
          mode: '0755',
          owner: 'root',
          contexts: ['qcow2'],
        },
      ],
    }),
  );
  assert.equal(bodies(ops), [
    {
      kind: 'writeFile',
      path: '/testdir/test.sh',
      content: '#!/bin/bash\necho hello world',
      mode: '0755',
      owner: 'root',
    },
  ]);
  assert.equal(ops[0]!.contexts, ['disk']);
  assert.equal(filesModule.plan(profile()), []);
});

test.run();
