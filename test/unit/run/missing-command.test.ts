import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeMissing, missingCommand, missingHint } from '../../../src/run/missing-command.ts';

// messages as the real tools print them (util-linux 2.38 setpriv/unshare, coreutils 9.1 chroot in C.UTF-8)
const SETPRIV = 'setpriv: failed to execute mksquashfs: No such file or directory';
const CHROOT = 'chroot: failed to run command ‘apt-get’: No such file or directory';

test('missingCommand: a failed spawn (no setpriv) is the program itself, on the host', () => {
  assert.equal(missingCommand(['qemu-img', 'info'], undefined, '', 'ENOENT'), {
    program: 'qemu-img',
    where: 'host',
    reason: 'not found',
  });
  assert.equal(missingCommand(['/opt/x'], undefined, '', 'EACCES'), {
    program: '/opt/x',
    where: 'host',
    reason: 'not executable',
  });
  // a spawn that failed for another reason is not this
  assert.is(missingCommand(['x'], undefined, '', 'E2BIG'), undefined);
});

test('missingCommand: setpriv could not start the program: on the host, even when it was chroot', () => {
  assert.equal(missingCommand(['mksquashfs', '/t', '/o'], 127, `${SETPRIV}\n`), {
    program: 'mksquashfs',
    where: 'host',
    reason: 'not found',
  });
  assert.equal(
    missingCommand(
      ['chroot', '/r', 'true'],
      127,
      'setpriv: failed to execute chroot: No such file or directory',
    ),
    { program: 'chroot', where: 'host', reason: 'not found' },
  );
  assert.equal(missingCommand(['/x/tool'], 126, 'setpriv: failed to execute /x/tool: Permission denied'), {
    program: '/x/tool',
    where: 'host',
    reason: 'not executable',
  });
});

test('missingCommand: chroot could not start it: in the chroot, with its root; any quote style', () => {
  assert.equal(missingCommand(['chroot', '/c/tree', 'apt-get', 'update'], 127, CHROOT), {
    program: 'apt-get',
    where: 'chroot',
    root: '/c/tree',
    reason: 'not found',
  });
  assert.equal(
    missingCommand(
      ['chroot', '/c/tree', 'x'],
      126,
      "chroot: failed to run command '/usr/bin/x': Permission denied",
    )?.reason,
    'not executable',
  );
});

test('missingCommand: mmdebstrap reporting its chroot failure with its own exit code counts (issue 10)', () => {
  const out = [
    'I: running apt-get update...',
    CHROOT,
    'E: setup failed: E: env --unset=APT_CONFIG chroot /t apt-get --yes install apt failed',
    'E: mmdebstrap failed to run',
  ].join('\n');
  assert.equal(missingCommand(['mmdebstrap', '--variant=minbase', 'focal', '/t'], 1, out), {
    program: 'apt-get',
    where: 'chroot',
    reason: 'not found',
  });
  // a line redrawn with \r (progress) still reads as its last state
  assert.is(missingCommand(['mmdebstrap'], 255, `50%\r${CHROOT}`)?.program, 'apt-get');
});

test('missingCommand: a shell that could not find a command, only with exit code 126/127', () => {
  assert.equal(missingCommand(['sh', '-c', 'nope'], 127, 'sh: 1: nope: not found\n'), {
    program: 'nope',
    where: 'host',
    reason: 'not found',
  });
  assert.equal(
    missingCommand(['chroot', '/r', 'bash', '-c', 'x'], 127, 'bash: line 1: kubeadm: command not found'),
    {
      program: 'kubeadm',
      where: 'chroot',
      root: '/r',
      reason: 'not found',
    },
  );
  assert.equal(
    missingCommand(['/s.sh'], 126, '/s.sh: 3: ./helper: Permission denied')?.reason,
    'not executable',
  );
  // the same words with another exit code are a tool's own message, not a missing command
  assert.is(missingCommand(['grep', 'x'], 1, 'sh: 1: nope: not found'), undefined);
});

test('missingCommand: exit 126/127 without a message still is one, program unknown', () => {
  assert.equal(missingCommand(['some-tool'], 127, 'whatever it said'), {
    where: 'host',
    reason: 'exit code 127',
  });
  assert.equal(missingCommand(['chroot', '/r', 'x'], 126, ''), {
    where: 'chroot',
    root: '/r',
    reason: 'exit code 126',
  });
});

test('missingCommand: other failures are not (network, disk, signals reported as codes)', () => {
  for (const [code, out] of [
    [1, 'E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Could not resolve host'],
    [100, 'E: Unable to locate package nosuch'],
    [2, 'No such file or directory'],
    [1, 'cp: cannot stat /x: No such file or directory'],
    [137, ''],
    [0, ''],
  ] as const)
    assert.is(missingCommand(['apt-get', 'update'], code, out), undefined, `${code} ${out}`);
});

test('describeMissing: what and where, in one line', () => {
  assert.is(
    describeMissing({ program: 'apt-get', where: 'chroot', root: '/c/t', reason: 'not found' }),
    'apt-get was not found in the chroot /c/t',
  );
  assert.is(
    describeMissing({ program: 'apt-get', where: 'chroot', reason: 'not found' }),
    'apt-get was not found in the chroot',
  );
  assert.is(
    describeMissing({ program: '/x', where: 'host', reason: 'not executable' }),
    '/x could not be run: not executable on the build host',
  );
  assert.is(
    describeMissing({ where: 'host', reason: 'exit code 127' }),
    'a command it runs could not be found or run on the build host (exit code 127)',
  );
});

test('missingHint: the host package of a known tool (doctor table), else the program; in the image: packages', () => {
  assert.is(
    missingHint({ program: 'mksquashfs', where: 'host', reason: 'not found' }, ['mksquashfs']),
    'install the package squashfs-tools (Ubuntu: squashfs-tools) on the build host; `ib-native doctor` lists every tool a build needs and its package',
  );
  assert.match(
    missingHint({ program: '/usr/local/bin/frob', where: 'host', reason: 'not found' }, ['frob']),
    /^install frob on the build host, or put its folder on PATH; `ib-native doctor`/,
  );
  assert.match(
    missingHint({ where: 'host', reason: 'exit code 127' }, ['x']),
    /^install what the output above names/,
  );
  assert.is(
    missingHint({ program: 'kubeadm', where: 'chroot', root: '/r', reason: 'not found' }, [
      'chroot',
      '/r',
      'kubeadm',
    ]),
    "kubeadm is not in the image: add the package that provides it to the profile's `packages`",
  );
  assert.match(
    missingHint({ program: 'apt-get', where: 'chroot', reason: 'not found' }, ['mmdebstrap', 'focal']),
    /^apt-get is not in the base system the bootstrapper made for this distro: try the other bootstrapper \(--bootstrapper\)/,
  );
  // apt-get missing when the build runs it in the fresh tree (mmdebstrap minbase on focal, seen for real)
  assert.match(
    missingHint({ program: 'apt-get', where: 'chroot', root: '/t', reason: 'not found' }, [
      'chroot',
      '/t',
      'apt-get',
    ]),
    /^apt-get is not in the base system the bootstrapper made/,
  );
  assert.match(missingHint({ program: '/x', where: 'host', reason: 'not executable' }, ['/x']), /chmod \+x/);
});

test.run();
