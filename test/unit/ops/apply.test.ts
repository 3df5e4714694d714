import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import { describeOp, resolveInRoot } from '../../../src/ops/apply.ts';
import { type Op, type OpBody, ops } from '../../../src/ops/types.ts';

const root = mkdtempSync(path.join(tmpdir(), 'ib-native-root-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

mkdirSync(path.join(root, 'usr/etc'), { recursive: true });
mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
mkdirSync(path.join(root, 'a'), { recursive: true });
symlinkSync('/usr/etc', path.join(root, 'etc'));
symlinkSync('usr/lib', path.join(root, 'lib'));
symlinkSync('lib', path.join(root, 'usr/lib64'));
symlinkSync('../usr/lib', path.join(root, 'a/up'));
symlinkSync('/../../../etc', path.join(root, 'evil-abs'));
symlinkSync('../../../../../etc', path.join(root, 'a/evil-rel'));
symlinkSync('l2', path.join(root, 'l1'));
symlinkSync('/l1', path.join(root, 'l2'));
symlinkSync('/etc/shadow', path.join(root, 'a/last'));

const r = (p: string) => resolveInRoot(root, p);
const at = (p: string) => path.join(root, p);

test('resolveInRoot: plain paths map under the root', () => {
  assert.is(r('/usr/lib/x'), at('usr/lib/x'));
  assert.is(r('/new/dir/file'), at('new/dir/file'));
  assert.is(r('/'), root);
  assert.is(r('//usr//lib/'), at('usr/lib'));
});

test('resolveInRoot: an absolute link in the image resolves inside the root', () => {
  assert.is(r('/etc/passwd'), at('usr/etc/passwd'));
  assert.is(r('/etc/ssh/sshd_config.d/x.conf'), at('usr/etc/ssh/sshd_config.d/x.conf'));
});

test('resolveInRoot: relative links, chained links, links climbing with ..', () => {
  assert.is(r('/lib/modules'), at('usr/lib/modules'));
  assert.is(r('/usr/lib64/ld.so'), at('usr/lib/ld.so'));
  assert.is(r('/a/up/x'), at('usr/lib/x'));
});

test('resolveInRoot: nothing escapes the root, by link or by ..', () => {
  assert.is(r('/evil-abs/passwd'), at('usr/etc/passwd'));
  assert.is(r('/a/evil-rel/passwd'), at('usr/etc/passwd'));
  assert.is(r('/../../etc/passwd'), at('usr/etc/passwd'));
  assert.is(r('/usr/../../x'), at('x'));
  assert.is(r('/..'), root);
  assert.is(r('/usr/lib/../..'), root);
  assert.is(r('/a/.'), at('a'));
  assert.is(r('/usr/./lib/./x'), at('usr/lib/x'));
  for (const p of ['/..', '/../..', '/a/evil-rel/..', '/evil-abs/../../..', '/etc/../../../x'])
    assert.ok(r(p) === root || r(p).startsWith(`${root}/`), `${p} -> ${r(p)}`);
});

test('resolveInRoot: the last component is not followed (the op replaces the link itself)', () => {
  assert.is(r('/a/last'), at('a/last'));
  assert.is(r('/etc'), at('etc'));
});

test('resolveInRoot: a link loop is a UserError', () => {
  assert.throws(
    () => r('/l1/x'),
    (e: Error) =>
      e instanceof UserError && e.message === 'too many symbolic links resolving /l1/x in the image',
  );
});

test('resolveInRoot: injected lstat/readlink (no file system)', () => {
  const links: Record<string, string> = { '/img/bin': 'usr/bin', '/img/usr/bin/sh': 'dash' };
  const lstat = (p: string) => ({
    isSymbolicLink: () => p in links,
  });
  const readlink = (p: string) => links[p]!;
  assert.is(resolveInRoot('/img', '/bin/sh', { lstat, readlink }), '/img/usr/bin/sh');
  assert.is(resolveInRoot('/img', '/bin/sh', { lstat, readlink, follow: true }), '/img/usr/bin/dash');
  assert.is(resolveInRoot('/img', '/bin/sh/x', { lstat, readlink }), '/img/usr/bin/dash/x');
});

function op(body: OpBody): Op {
  return ops('m', undefined, body)[0]!;
}

test('describeOp: one line per kind', () => {
  assert.is(describeOp(op({ kind: 'writeFile', path: '/etc/x', content: 'abc' })), 'write /etc/x (3 bytes)');
  assert.is(
    describeOp(op({ kind: 'writeFile', path: '/etc/x', content: '', mode: '0600' })),
    'write /etc/x (0 bytes, mode 0600)',
  );
  assert.is(describeOp(op({ kind: 'mkdir', path: '/d', mode: '0700' })), 'mkdir /d');
  assert.is(describeOp(op({ kind: 'symlink', path: '/l', target: '/t' })), 'link /l -> /t');
  assert.is(describeOp(op({ kind: 'remove', path: '/r' })), 'remove /r');
  assert.is(describeOp(op({ kind: 'chmod', path: '/p', mode: '0644' })), 'chmod 0644 /p');
  assert.is(describeOp(op({ kind: 'chmod', path: '/p', owner: 'root', group: 'adm' })), 'chmod root:adm /p');
  assert.is(describeOp(op({ kind: 'chmod', path: '/p', mode: '0640', group: 'adm' })), 'chmod 0640 :adm /p');
  assert.is(describeOp(op({ kind: 'unit', name: 'x.service', action: 'mask' })), 'systemctl mask x.service');
  assert.is(
    describeOp(op({ kind: 'run', argv: ['locale-gen', 'C.UTF-8'], description: 'locales' })),
    'run in image: locale-gen C.UTF-8 (locales)',
  );
  assert.is(
    describeOp(op({ kind: 'copyIn', source: '/host/src', path: '/opt/src' })),
    'copy /host/src -> /opt/src',
  );
  assert.is(
    describeOp(
      op({ kind: 'fetch', url: 'https://x/f.tgz', sha256: 'a'.repeat(64), path: '/tmp/url_resources/f.tgz' }),
    ),
    'fetch https://x/f.tgz -> /tmp/url_resources/f.tgz (sha256 aaaaaaaaaaaa…)',
  );
});

test.run();
