import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getDistro, renderDeb822 } from '../../../src/distro/index.ts';
import { CommandError, CommandNotFoundError, UserError } from '../../../src/errors.ts';
import type { LocalRepo as Repo } from '../../../src/keys/repo-keys.ts';
import { recordingLogger } from '../../../src/log.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import {
  aptInstallArgv,
  aptSources,
  bootstrapWithFallbacks,
  compareVersions,
  dearmor,
  debootstrapArgv,
  divertArgv,
  INSTALL_DIVERSIONS,
  installedKernels,
  installSet,
  kdumpInitrdLink,
  keyInImage,
  mmdebstrapArgv,
  type RootfsInputs,
} from '../../../src/stages/rootfs.ts';

const debian = getDistro('debian-bookworm');
const ubuntu = getDistro('ubuntu-focal');

function repo(r: Partial<Repo> & Pick<Repo, 'name'>): Repo {
  return { url: `http://repo.example/${r.name}`, suite: 'stable', components: ['main'], packages: [], ...r };
}

function inputs(i: Partial<RootfsInputs> = {}): RootfsInputs {
  return { distro: debian, packages: [], repos: [], blockedPackages: [], bootstrapper: 'debootstrap', ...i };
}

test('installSet: distro kernel and boot packages added, deduped by name, blocked removed, sorted', () => {
  assert.equal(
    installSet(
      inputs({
        packages: ['vim', 'zstd=1.5.4', 'curl', 'vim', 'live-boot'],
        repos: [repo({ name: 'k8s', packages: ['kubelet=1.21.2-00', 'curl=7.88'] })],
        blockedPackages: ['live-boot', 'not-requested'],
      }),
    ),
    [
      'curl=7.88',
      'initramfs-tools',
      'kubelet=1.21.2-00',
      'linux-image-amd64',
      'systemd-sysv',
      'vim',
      'zstd=1.5.4',
    ],
  );
  assert.equal(installSet(inputs({ distro: ubuntu })), [
    'initramfs-tools',
    'linux-image-generic',
    'live-boot',
    'systemd-sysv',
    'zstd',
  ]);
});

test('installSet: a later pin replaces an earlier one; a later unpinned request keeps the pin', () => {
  assert.equal(
    installSet(inputs({ packages: ['a=1', 'a=2'], repos: [repo({ name: 'r', packages: ['b'] })] })).filter(
      (p) => /^[ab]\b/.test(p),
    ),
    ['a=2', 'b'],
  );
  // kubelet.version pins kubelet in the package list; the repo lists it unpinned
  const set = installSet(
    inputs({
      packages: ['kubelet=1.21.2-00'],
      repos: [repo({ name: 'k8s', packages: ['kubelet', 'kubeadm'] })],
    }),
  );
  assert.ok(set.includes('kubelet=1.21.2-00'), set.join(' '));
  assert.not.ok(set.includes('kubelet'));
  assert.ok(set.includes('kubeadm'));
});

async function bootstrapFailing(failure: () => Error, mirrors: string[]) {
  process.env.IB_NATIVE_RETRY_PAUSE_MS = '0';
  const runner = recordingRunner((argv) => (argv[0] === 'debootstrap' ? failure() : undefined));
  const logger = recordingLogger();
  const target = mkdtempSync(path.join(tmpdir(), 'ibn-bootstrap-'));
  let error: unknown;
  try {
    await bootstrapWithFallbacks(
      { runner, logger, packageCache: '/p', keyringDir: '/k', env: {} },
      inputs({ fallbackMirrors: mirrors }),
      target,
      debian.keyring,
    );
  } catch (e) {
    error = e;
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
  const mirrorsTried = runner.calls.filter((c) => c[0] === 'debootstrap').map((c) => c.at(-1));
  return { error, mirrorsTried, warnings: logger.lines.filter((l) => l.startsWith('warn')) };
}

test('bootstrapWithFallbacks: a transient failure is retried on each mirror, then one error names them all', async () => {
  const r = await bootstrapFailing(
    () => new CommandError(['debootstrap'], 1, 'E: Failed getting release file', undefined, 'debootstrap'),
    ['http://fallback.local/debian'],
  );
  assert.equal(r.mirrorsTried, [
    'http://deb.debian.org/debian',
    'http://deb.debian.org/debian',
    'http://deb.debian.org/debian',
    'http://fallback.local/debian',
    'http://fallback.local/debian',
    'http://fallback.local/debian',
  ]);
  assert.instance(r.error, UserError);
  assert.match((r.error as Error).message, /could not bootstrap debian-bookworm from any mirror/);
});

test('bootstrapWithFallbacks: a program that cannot be run is tried once, on no other mirror (issue 10)', async () => {
  const missing = new CommandNotFoundError(
    ['mmdebstrap'],
    1,
    'chroot: failed to run command ‘apt-get’: No such file or directory',
    { what: 'apt-get was not found in the chroot', where: 'chroot', hint: 'h', program: 'apt-get' },
  );
  const r = await bootstrapFailing(() => missing, ['http://fallback.local/debian']);
  assert.equal(r.mirrorsTried, ['http://deb.debian.org/debian']);
  assert.is(r.error, missing);
  assert.equal(r.warnings, []);
  // a full disk neither
  const full = await bootstrapFailing(
    () => new CommandError(['debootstrap'], 1, 'tar: write error: No space left on device'),
    ['http://fallback.local/debian'],
  );
  assert.equal(full.mirrorsTried, ['http://deb.debian.org/debian']);
  assert.instance(full.error, CommandError);
});

test('debootstrapArgv: exact', () => {
  assert.equal(debootstrapArgv(debian, '/c/rootfs/.k.building-1', '/c/packages'), [
    'debootstrap',
    '--variant=minbase',
    '--arch=amd64',
    '--components=main',
    '--keyring=/usr/share/keyrings/debian-archive-keyring.gpg',
    '--cache-dir=/c/packages',
    '--include=apt,ca-certificates,gnupg',
    'bookworm',
    '/c/rootfs/.k.building-1',
    'http://deb.debian.org/debian',
  ]);
  assert.equal(debootstrapArgv(getDistro('ubuntu-focal', { mirror: 'http://m.local/ubuntu/' }), '/t', '/p'), [
    'debootstrap',
    '--variant=minbase',
    '--arch=amd64',
    '--components=main,restricted,universe',
    '--keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg',
    '--cache-dir=/p',
    '--include=apt,ca-certificates,gnupg',
    'focal',
    '/t',
    'http://m.local/ubuntu',
  ]);
  // a suite the host's debootstrap may not know gets the family's generic script
  assert.equal(debootstrapArgv(getDistro('ubuntu-noble'), '/t', '/p').slice(-4), [
    'noble',
    '/t',
    'http://archive.ubuntu.com/ubuntu',
    'gutsy',
  ]);
  assert.equal(debootstrapArgv(getDistro('debian-trixie'), '/t', '/p').slice(-3), [
    'trixie',
    '/t',
    'http://deb.debian.org/debian',
  ]);
});

test('aptInstallArgv: keeps existing config files, retries downloads, no recommends, no fsync', () => {
  assert.equal(aptInstallArgv(['a', 'b=1']), [
    'apt-get',
    '-y',
    '-q',
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    '-o',
    'Dpkg::Options::=--force-unsafe-io',
    '-o',
    'Acquire::Retries=3',
    '--no-install-recommends',
    'install',
    'a',
    'b=1',
  ]);
});

test('aptSources + renderDeb822: Debian archive and security', () => {
  const text = aptSources(inputs()).map(renderDeb822);
  assert.equal(text, [
    [
      '# debian-bookworm (written by ib-native)',
      'Types: deb',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
    ].join('\n'),
    [
      '# debian-bookworm-security (written by ib-native)',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
    ].join('\n'),
  ]);
});

test('aptSources + renderDeb822: Ubuntu archive (main restricted universe, focal-updates), security on security.ubuntu.com', () => {
  const text = aptSources(inputs({ distro: ubuntu })).map(renderDeb822);
  assert.equal(text, [
    [
      '# ubuntu-focal (written by ib-native)',
      'Types: deb',
      'URIs: http://archive.ubuntu.com/ubuntu',
      'Suites: focal focal-updates',
      'Components: main restricted universe',
      'Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg',
      '',
    ].join('\n'),
    [
      '# ubuntu-focal-security (written by ib-native)',
      'Types: deb',
      'URIs: http://security.ubuntu.com/ubuntu',
      'Suites: focal-security',
      'Components: main restricted universe',
      'Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg',
      '',
    ].join('\n'),
  ]);
});

test('aptSources: extra repos; an .asc key on Ubuntu becomes a binary .gpg (apt 2.0), stays .asc on Debian; trusted renders Trusted: yes', () => {
  const repos = [
    repo({
      name: 'k8s',
      url: 'https://apt.kubernetes.io/',
      suite: 'kubernetes-xenial',
      key: '/keys/k8s.asc',
    }),
    repo({ name: 'bin', key: '/keys/bin.gpg', components: ['stable', 'edge'] }),
    repo({ name: 'local', trusted: true }),
    repo({ name: 'both', trusted: true, key: '/keys/both.asc' }),
  ];
  const onUbuntu = aptSources(inputs({ distro: ubuntu, repos })).slice(2);
  assert.equal(
    onUbuntu.map((s) => [s.name, s.signedBy, Boolean(s.trusted)]),
    [
      ['k8s', '/etc/apt/keyrings/ib-native-k8s.gpg', false],
      ['bin', '/etc/apt/keyrings/ib-native-bin.gpg', false],
      ['local', undefined, true],
      ['both', '/etc/apt/keyrings/ib-native-both.gpg', false],
    ],
  );
  assert.is(
    renderDeb822(onUbuntu[0]!),
    '# k8s (written by ib-native)\nTypes: deb\nURIs: https://apt.kubernetes.io/\nSuites: kubernetes-xenial\nComponents: main\nSigned-By: /etc/apt/keyrings/ib-native-k8s.gpg\n',
  );
  assert.is(
    renderDeb822(onUbuntu[2]!),
    '# local (written by ib-native)\nTypes: deb\nURIs: http://repo.example/local\nSuites: stable\nComponents: main\nTrusted: yes\n',
  );
  assert.match(renderDeb822(onUbuntu[1]!), /\nComponents: stable edge\n/);
  const onDebian = aptSources(inputs({ distro: debian, repos })).slice(2);
  assert.equal(
    onDebian.map((s) => s.signedBy),
    [
      '/etc/apt/keyrings/ib-native-k8s.asc',
      '/etc/apt/keyrings/ib-native-bin.gpg',
      undefined,
      '/etc/apt/keyrings/ib-native-both.asc',
    ],
  );
});

test('keyInImage', () => {
  assert.is(keyInImage(repo({ name: 'a', key: '/k/a.asc' }), debian), '/etc/apt/keyrings/ib-native-a.asc');
  assert.is(keyInImage(repo({ name: 'a', key: '/k/a.asc' }), ubuntu), '/etc/apt/keyrings/ib-native-a.gpg');
  assert.is(keyInImage(repo({ name: 'a', key: '/k/a.gpg' }), debian), '/etc/apt/keyrings/ib-native-a.gpg');
  assert.is(keyInImage(repo({ name: 'a', key: '/k/a.key' }), ubuntu), '/etc/apt/keyrings/ib-native-a.gpg');
});

/** A fresh OpenPGP key: its armored export and binary export. */
function makeKey(): { armored: string; binary: Buffer } {
  const home = mkdtempSync(path.join(tmpdir(), 'ib-native-gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--quiet', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    gpg(
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-gen-key',
      'ib-native test <test@example.org>',
      'ed25519',
      'sign',
      'never',
    );
    return { armored: gpg('--armor', '--export').toString(), binary: gpg('--export') };
  } finally {
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    } catch {
      // no agent started
    }
    rmSync(home, { recursive: true, force: true });
  }
}

test('dearmor: round trip against gpg --export, with and without armor headers and CRLF', () => {
  const { armored, binary } = makeKey();
  assert.ok(armored.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----\n'));
  assert.ok(binary.length > 32);
  assert.equal(dearmor(armored), binary);
  // armor headers (older gpg, many published repo keys) are not key data
  const withHeaders = armored.replace(
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n',
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: GnuPG v1\nComment: https://example.org/key\n',
  );
  assert.equal(dearmor(withHeaders), binary);
  assert.equal(dearmor(armored.replace(/\n/g, '\r\n')), binary);
  // text around the block is ignored
  assert.equal(dearmor(`key for repo X\n${armored}\ntrailer\n`), binary);
});

test('dearmor: not an armored public key', () => {
  assert.throws(
    () => dearmor('mQINBFit...'),
    (e: Error) => e instanceof UserError && /not an ASCII-armored public key block/.test(e.message),
  );
});

test('compareVersions and installedKernels: numeric ordering, newest last', () => {
  assert.ok(compareVersions('5.10.0-9-amd64', '5.10.0-10-amd64') < 0);
  assert.ok(compareVersions('5.4.0-100-generic', '5.4.0-99-generic') > 0);
  assert.ok(compareVersions('6.1.0-13-amd64', '5.10.0-26-amd64') > 0);
  assert.is(compareVersions('6.1.0-13-amd64', '6.1.0-13-amd64'), 0);
  const root = mkdtempSync(path.join(tmpdir(), 'ib-native-kern-'));
  try {
    assert.equal(installedKernels(root), []);
    for (const k of ['5.4.0-99-generic', '5.4.0-100-generic', '5.4.0-9-generic'])
      mkdirSync(path.join(root, 'lib/modules', k), { recursive: true });
    assert.equal(installedKernels(root), ['5.4.0-9-generic', '5.4.0-99-generic', '5.4.0-100-generic']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('mmdebstrapArgv: apt is in the base on Ubuntu too (it is Priority important there, not in minbase)', () => {
  const argv = mmdebstrapArgv(ubuntu, '/t', '/p');
  assert.ok(argv.includes('--include=apt,ca-certificates,gnupg'), argv.join(' '));
  assert.ok(argv.includes('--components=main,restricted,universe'));
  assert.equal(argv.slice(-3), ['focal', '/t', 'http://archive.ubuntu.com/ubuntu']);
  // dpkg unpacks the base without fsync, as the one apt transaction after it does
  assert.ok(argv.includes('--dpkgopt=force-unsafe-io'));
});

test('install diversions: update-initramfs is a no-op stub, mkinitramfs is moved away (kernel hooks skip)', () => {
  assert.equal(
    INSTALL_DIVERSIONS.map((d) => [d.path, Boolean(d.stub)]),
    [
      ['/usr/sbin/update-initramfs', true],
      ['/usr/sbin/mkinitramfs', false],
    ],
  );
  assert.equal(divertArgv('add', '/usr/sbin/mkinitramfs'), [
    'dpkg-divert',
    '--local',
    '--rename',
    '--add',
    '/usr/sbin/mkinitramfs',
  ]);
  assert.is(divertArgv('remove', '/x').at(3), '--remove');
});

test('kdumpInitrdLink: only with kdump-tools installed; the crash initrd is the image initramfs', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ib-native-kdump-'));
  try {
    assert.is(kdumpInitrdLink(root, '5.4.0-216-generic'), undefined);
    mkdirSync(path.join(root, 'usr/sbin'), { recursive: true });
    writeFileSync(path.join(root, 'usr/sbin/kdump-config'), '#!/bin/sh\n');
    assert.equal(kdumpInitrdLink(root, '5.4.0-216-generic'), {
      initrd: '/boot/initrd.img-5.4.0-216-generic',
      link: '/var/lib/kdump/initrd.img-5.4.0-216-generic',
      target: '../../../boot/initrd.img-5.4.0-216-generic',
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
