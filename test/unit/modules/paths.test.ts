import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { directoriesModule } from '../../../src/modules/directories.ts';
import { filePermissionsModule } from '../../../src/modules/file-permissions.ts';
import { filesModule } from '../../../src/modules/files.ts';
import { sessionPathIssues } from '../../../src/modules/paths.ts';
import { profile } from './helpers.ts';

test('sessionPathIssues: /dev, /proc, /sys, /run and below are refused, naming the field', () => {
  const issues = sessionPathIssues('files', [
    { path: '/dev/vda' },
    { path: '/etc/x' },
    { path: '/proc' },
    { path: '/sys/kernel/x' },
    { path: '/run/lock/x' },
    { path: '/device' },
    { path: '/runner/x' },
    { path: '//dev//kvm' },
    { path: '/./dev/kvm' },
  ]);
  assert.equal(
    issues.map((i) => i.path),
    ['files[0].path', 'files[2].path', 'files[3].path', 'files[4].path', 'files[7].path', 'files[8].path'],
  );
  assert.match(issues[0]!.message, /\/dev\/vda is under \/dev/);
});

test('files, directories and filePermissions refuse paths under the session mounts', () => {
  const p = profile({
    files: [{ path: '/dev/vda', content: '' }],
    directories: [{ path: '/run/x' }],
    filePermissions: [{ path: '/dev/kvm', mode: '0666' }],
  });
  assert.equal(
    filesModule.validate!(p).map((i) => i.path),
    ['files[0].path'],
  );
  assert.equal(
    directoriesModule.validate!(p).map((i) => i.path),
    ['directories[0].path'],
  );
  assert.equal(
    filePermissionsModule.validate!(p).map((i) => i.path),
    ['filePermissions[0].path'],
  );
});

test.run();
