import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCRIPTS_DIR, userScriptsModule } from '../../../src/modules/user-scripts.ts';
import { bodies, profile } from './helpers.ts';

test('userScripts: written (or copied), run through the launcher with the path as an argument, removed', () => {
  const ops = userScriptsModule.plan(
    profile({
      userScripts: [
        { name: 'hello', content: '#!/bin/bash\necho hello', contexts: ['qcow2'] },
        { name: 'from-file', file: '/host/site/setup.sh' },
      ],
    }),
  );
  const b = bodies(ops);
  assert.equal(b[0], {
    kind: 'writeFile',
    path: `${SCRIPTS_DIR}/hello`,
    content: '#!/bin/bash\necho hello',
    mode: '0755',
  });
  const run = b[1] as { kind: string; argv: string[] };
  assert.is(run.kind, 'run');
  assert.equal(run.argv.slice(0, 2), ['/bin/sh', '-c']);
  assert.equal(run.argv.slice(3), ['sh', `${SCRIPTS_DIR}/hello`]);
  assert.ok(!run.argv[2]!.includes('hello'), 'the script text is constant: the path goes in as $1');
  assert.equal(b[2], { kind: 'remove', path: `${SCRIPTS_DIR}/hello` });
  assert.equal(b[3], {
    kind: 'copyIn',
    source: '/host/site/setup.sh',
    path: `${SCRIPTS_DIR}/from-file`,
    mode: '0755',
  });
  assert.equal(
    ops.map((o) => o.contexts[0]),
    ['disk', 'disk', 'disk', 'common', 'common', 'common'],
  );
});

test('userScripts: a file that does not exist is an error; one that does is fine', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-scripts-'));
  const real = path.join(dir, 'ok.sh');
  writeFileSync(real, 'echo ok\n');
  const issues = userScriptsModule.validate!(
    profile({
      userScripts: [
        { name: 'ok', file: real },
        { name: 'missing', file: path.join(dir, 'nope.sh') },
      ],
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['userScripts[1].file'],
  );
});

test.run();
