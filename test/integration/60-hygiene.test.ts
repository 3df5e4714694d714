/**
 * Images that are safe to ship: builds the minimal images (plus one probe file that carries a file
 * capability, set by a user script, since minimal has no such file of its own) into its own
 * folder, signed with a throw-away gpg key and, when the rootfs is cached, through a proxy that
 * does not exist, then reads what they ship with offline readers only: the QCOW2's root
 * filesystem with debugfs, the ISO's squashfs layers with unsquashfs. Checks that nothing of the
 * build host or the build (resolv.conf, proxy settings, apt indexes, policy-rc.d, history, temp
 * files, machine identity, SSH host keys, passwords) ships, not even hidden under an overlay
 * whiteout or in freed disk blocks; that setuid/setgid bits, ownership and file capabilities are
 * those of the cached rootfs; that each image has a signature gpg accepts and an SPDX SBOM.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IsoLayer } from '../../src/inspect/iso.ts';
import { MINIMAL } from '../helpers/bad-input.ts';
import { CACHE, cli, DISTRO, ownScratch } from '../helpers/host.ts';
import { readDisk, readIso } from '../helpers/image.ts';
import {
  children,
  ext4View,
  hostTreeCaps,
  hostTreeView,
  type ImageView,
  isoView,
} from '../helpers/image-view.ts';

const DIR = ownScratch('hygiene');
const OUT = path.join(DIR, 'out');
const GNUPGHOME = path.join(DIR, 'gnupg');
const PROXY = 'http://ib-native-hygiene-proxy.invalid:3128';
const PROBE = '/usr/local/bin/ib-native-cap-probe';
const NAME = 'hygiene';

/** Copies /usr/bin/true and gives the copy cap_net_raw=ep with setxattr(2) from perl (perl-base is essential). */
const PROBE_SCRIPT = `#!/bin/sh
set -e
mkdir -p ${path.dirname(PROBE)}
cp /usr/bin/true ${PROBE}
# what a common-layer step leaves and finalize removes in the image's layer (issue 11): it must
# not ship in config-common.squashfs under the iso layer's whiteout
mkdir -p /tmp/url_resources /var/lib/apt/lists
echo leftover > /tmp/url_resources/ib-native-leftover
echo leftover > /var/lib/apt/lists/ib-native-leftover_Packages
perl -e 'my ($p, $n, $v) = ("$ARGV[0]", "security.capability", pack("V5", 0x02000001, 1 << 13, 0, 0, 0)); syscall(188, $p, $n, $v, length($v), 0) == 0 or die "setxattr: $!\\n"' ${PROBE}
`;

interface Built {
  fingerprint: string;
  proxied: boolean;
  rootfs: string;
  manifest: { rootfsKey: string; packages: { name: string }[] };
  qcow2: ImageView;
  iso: ImageView;
  isoLayers: IsoLayer[];
  host: ImageView;
  hostCaps: Map<string, string>;
}
let built: Built | undefined;
const b = () => {
  if (!built) throw new Error('the build in test.before failed');
  return built;
};
const images = () => [b().qcow2, b().iso];

/**
 * A check that looks for something absent passes on an empty view too: each one first asserts
 * that what it inspects is there (the image was read, the folder it lists exists).
 */
function assertPresent(v: Pick<ImageView, 'name' | 'entries'>, p: string, type: 'd' | 'f'): void {
  assert.ok(v.entries.size > 1000, `${v.name}: only ${v.entries.size} entries read: the image was not read`);
  assert.is(v.entries.get(p)?.type, type, `${v.name}: ${p} is not there to inspect`);
}
const gpgEnv = { GNUPGHOME };

async function generateKey(): Promise<string> {
  mkdirSync(GNUPGHOME, { recursive: true, mode: 0o700 });
  await execa(
    'gpg',
    [
      '--batch',
      '--passphrase',
      '',
      '--quick-gen-key',
      'ib-native hygiene test <hygiene@ib-native.invalid>',
      'ed25519',
      'sign',
      '1d',
    ],
    { env: gpgEnv },
  );
  const list = await execa('gpg', ['--batch', '--list-secret-keys', '--with-colons'], { env: gpgEnv });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(list.stdout)?.[1];
  if (!fpr) throw new Error(`no fingerprint in:\n${list.stdout}`);
  return fpr;
}

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const fingerprint = await generateKey();
  const profile = path.join(DIR, `${NAME}.ts`);
  writeFileSync(
    profile,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: '${NAME}', extends: ${JSON.stringify(MINIMAL)}, userScripts: [{ name: 'cap-probe', content: ${JSON.stringify(PROBE_SCRIPT)} }] });\n`,
  );
  // through a proxy that does not exist: fine when nothing is downloaded (the rootfs is cached)
  const plan = await cli(['plan', '--profile', profile, '--distro', DISTRO, '--json']);
  assert.is(plan.exitCode, 0, plan.all);
  const key = JSON.parse(plan.stdout).stages[0].key as string;
  const proxied = existsSync(path.join(CACHE, 'rootfs', key, 'entry.json'));
  const r = await cli(
    [
      'build',
      ...['--profile', profile, '--distro', DISTRO, '--format', 'iso,qcow2', '--output', OUT],
      ...['--sign-key', fingerprint],
      ...(proxied ? ['--proxy', PROXY] : []),
    ],
    { env: gpgEnv },
  );
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  const manifest = JSON.parse(readFileSync(path.join(OUT, `${NAME}.manifest.json`), 'utf8'));
  const rootfs = path.join(CACHE, 'rootfs', manifest.rootfsKey, 'tree');

  // the QCOW2's root filesystem and the ISO's squashfs layers, with the readers of `ib-native inspect`
  const disk = await readDisk(path.join(OUT, `${NAME}.qcow2`), mkdtempSync(path.join(DIR, 'disk-')));
  const qcow2 = await ext4View(`${NAME}.qcow2`, disk);
  const iso = await readIso(path.join(OUT, `${NAME}.iso`), mkdtempSync(path.join(DIR, 'iso-')));
  built = {
    fingerprint,
    proxied,
    rootfs,
    manifest,
    qcow2,
    iso: isoView(`${NAME}.iso`, iso, DIR),
    isoLayers: iso.layers,
    host: await hostTreeView(rootfs),
    hostCaps: await hostTreeCaps(rootfs),
  };
});

test.after(async () => {
  await execa('gpgconf', ['--kill', 'all'], { env: gpgEnv, reject: false });
  rmSync(DIR, { recursive: true, force: true });
});

test('no resolv.conf of the build host, no proxy settings', async () => {
  const host = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  const hostServers = host.split('\n').filter((l) => /^\s*nameserver\s/.test(l));
  for (const v of images()) {
    assertPresent(v, '/etc/apt/apt.conf.d', 'd');
    assert.ok(children(v, '/etc/apt/apt.conf.d').length > 0, `${v.name}: /etc/apt/apt.conf.d is empty`);
    const resolv = v.entries.get('/etc/resolv.conf');
    if (resolv?.type === 'f') {
      const text = await v.cat('/etc/resolv.conf');
      assert.ok(
        text.trim() !== host.trim() || host.trim() === '',
        `${v.name}: /etc/resolv.conf is the host's`,
      );
      for (const s of hostServers) assert.not.ok(text.includes(s), `${v.name}: /etc/resolv.conf has "${s}"`);
    }
    const aptConf = children(v, '/etc/apt/apt.conf.d');
    assert.equal(
      aptConf.filter((n) => /proxy/i.test(n)),
      [],
      `${v.name}: proxy file in /etc/apt/apt.conf.d`,
    );
    for (const f of [
      ...aptConf.map((n) => `/etc/apt/apt.conf.d/${n}`),
      '/etc/apt/apt.conf',
      '/etc/environment',
    ]) {
      if (v.entries.get(f)?.type !== 'f') continue;
      const text = await v.cat(f);
      assert.not.match(
        text,
        /Acquire::\w+::Proxy|_proxy\s*=|ib-native-hygiene-proxy/i,
        `${v.name}: ${f} sets a proxy`,
      );
    }
  }
  if (!b().proxied) process.stdout.write('\n  (built without --proxy: the rootfs was not cached)\n');
});

test('apt indexes, policy-rc.d, shell history and build leftovers do not ship', () => {
  // the rootfs has indexes (the bootstrapper's apt update): there is something to remove
  assert.ok(
    children(b().host, '/var/lib/apt/lists').some((n) => n.endsWith('_Packages')),
    'the cached rootfs has no apt index: nothing to look for',
  );
  for (const v of images()) {
    assertPresent(v, '/var/lib/apt/lists', 'd');
    assertPresent(v, '/tmp', 'd');
    assert.equal(
      children(v, '/var/lib/apt/lists').filter((n) => n !== 'partial' && n !== 'lock'),
      [],
      `${v.name}: apt index files in /var/lib/apt/lists`,
    );
    for (const p of [
      '/usr/sbin/policy-rc.d',
      '/root/.bash_history',
      '/run/ib-native',
      '/tmp/url_resources',
      '/var/tmp/ib-native',
    ])
      assert.not.ok(v.entries.has(p), `${v.name}: ${p} is in the image`);
    assert.equal(children(v, '/tmp'), [], `${v.name}: /tmp is not empty`);
  }
});

test('no machine identity: empty /etc/machine-id, no SSH host keys', () => {
  // the rootfs has keys (openssh-server's postinst made them): there is something to remove
  assert.ok(
    children(b().host, '/etc/ssh').some((n) => n.startsWith('ssh_host_')),
    'the cached rootfs has no SSH host key: nothing to look for',
  );
  for (const v of images()) {
    assertPresent(v, '/etc/ssh', 'd');
    assertPresent(v, '/etc/ssh/sshd_config', 'f');
    const id = v.entries.get('/etc/machine-id');
    assert.ok(id?.type === 'f', `${v.name}: /etc/machine-id missing`);
    assert.is(id!.size, 0, `${v.name}: /etc/machine-id is not empty`);
    assert.equal(
      children(v, '/etc/ssh').filter((n) => n.startsWith('ssh_host_')),
      [],
      `${v.name}: SSH host keys`,
    );
  }
});

test('accounts: root locked, no password hashes, /etc/shadow 0640 root:shadow', async () => {
  for (const v of images()) {
    assertPresent(v, '/etc/shadow', 'f');
    const shadow = (await v.cat('/etc/shadow')).split('\n').filter(Boolean);
    const field = new Map(shadow.map((l) => [l.split(':')[0]!, l.split(':')[1] ?? ''] as const));
    assert.ok(field.has('root') && field.size > 5, `${v.name}: /etc/shadow has ${field.size} accounts`);
    assert.ok(
      ['*', '!', '!*'].includes(field.get('root') ?? ''),
      `${v.name}: root's password field "${field.get('root')}"`,
    );
    for (const [user, pw] of field) {
      assert.not.match(pw, /^!?\$/, `${v.name}: ${user} has a password hash`);
      assert.ok(pw !== '', `${v.name}: ${user} has an empty password (logs in without one)`);
    }
    const group = (await v.cat('/etc/group')).split('\n').find((l) => l.startsWith('shadow:'));
    const gid = Number(group?.split(':')[2]);
    const e = v.entries.get('/etc/shadow')!;
    assert.is(e.mode.toString(8), '640', `${v.name}: /etc/shadow mode`);
    assert.is(e.uid, 0, `${v.name}: /etc/shadow owner`);
    assert.is(e.gid, gid, `${v.name}: /etc/shadow group (shadow is ${gid})`);
  }
});

test('setuid/setgid bits and ownership are those of the cached rootfs', () => {
  const special = (v: ImageView) =>
    [...v.entries]
      .filter(([p, e]) => e.type === 'f' && e.mode & 0o6000 && !p.startsWith('/boot/'))
      .map(([p, e]) => `${p} ${e.mode.toString(8)} ${e.uid}:${e.gid}`)
      .sort();
  const expected = special(b().host);
  for (const p of ['/usr/bin/passwd', '/usr/bin/su', '/usr/bin/sudo'])
    assert.ok(
      expected.some((l) => l.startsWith(`${p} 4755 0:0`)),
      `${p} is not setuid root in the rootfs:\n${expected.join('\n')}`,
    );
  for (const v of images()) {
    assert.equal(special(v), expected, `${v.name}: setuid/setgid files differ from the rootfs`);
    const compared = [...b().host.entries].filter(
      ([p, e]) => !p.startsWith('/boot/') && v.entries.has(p) && e.type === v.entries.get(p)!.type,
    );
    assert.ok(compared.length > 1000, `${v.name}: only ${compared.length} paths to compare with the rootfs`);
    const owners = compared
      // finalize's `apt-get clean` gives it back to _apt, as apt itself does
      .filter(([p]) => p !== '/var/cache/apt/archives/partial')
      .filter(([p, e]) => e.uid !== v.entries.get(p)!.uid || e.gid !== v.entries.get(p)!.gid)
      .map(
        ([p, e]) => `${p}: rootfs ${e.uid}:${e.gid}, image ${v.entries.get(p)!.uid}:${v.entries.get(p)!.gid}`,
      );
    assert.equal(owners, [], `${v.name}: ownership differs from the rootfs`);
  }
});

test('file capabilities are kept: those of the rootfs, and the probe cap_net_raw=ep', async () => {
  const expected = new Map([...b().hostCaps, [PROBE, 'cap_net_raw=ep']]);
  for (const v of images())
    for (const [file, caps] of expected)
      assert.is(await v.caps(file), caps, `${v.name}: capabilities of ${file}`);
});

test('no layer of the ISO carries what finalize removed (whiteouts hide, they do not delete)', () => {
  // the base and both configuration layers, each read (the probe is in the common one)
  assert.ok(b().isoLayers.length >= 3, `${b().isoLayers.length} layers in the ISO`);
  for (const { name, listing } of b().isoLayers) assert.ok(listing.size > 0, `${name}: an empty listing`);
  assert.ok(
    b().isoLayers.some((l) => l.name.includes('config-common') && l.listing.has(PROBE)),
    'the common layer does not list the probe: its listing was not read',
  );
  for (const { name, listing } of b().isoLayers)
    for (const [p, e] of listing) {
      if (e.whiteout) continue;
      assert.not.ok(p.startsWith('/etc/ssh/ssh_host_'), `${name}: ${p}`);
      assert.not.ok(p === '/etc/machine-id' && e.size > 0, `${name}: a non-empty machine-id`);
      assert.not.ok(
        p.startsWith('/var/lib/apt/lists/') && e.type === 'f' && !p.endsWith('/lock'),
        `${name}: apt index ${p}`,
      );
      for (const gone of [
        '/tmp/url_resources',
        '/var/tmp/ib-native',
        '/usr/sbin/policy-rc.d',
        '/root/.bash_history',
      ])
        assert.not.ok(p === gone || p.startsWith(`${gone}/`), `${name}: ${p}`);
    }
  // the leftovers the probe script planted were there to be found: the common layer had them
  const common = b().isoLayers.find((l) => l.name.includes('config-common'));
  assert.ok(common, 'no config-common layer in the ISO');
  assert.ok(
    b().isoLayers.some((l) => l.listing.get('/tmp/url_resources')?.whiteout),
    'the iso layer does not remove /tmp/url_resources',
  );
});

test('the QCOW2 holds no byte of the rootfs SSH host keys or machine-id, not even in free blocks', async () => {
  const secrets: string[] = [];
  const ssh = path.join(b().rootfs, 'etc/ssh');
  for (const n of existsSync(ssh) ? readdirSync(ssh) : [])
    if (/^ssh_host_.*_key$/.test(n)) {
      // lines from the middle: the first ones are a header every key of that type shares
      const body = readFileSync(path.join(ssh, n), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l));
      secrets.push(...body.slice(Math.floor(body.length / 2), Math.floor(body.length / 2) + 2));
    }
  const id = existsSync(path.join(b().rootfs, 'etc/machine-id'))
    ? readFileSync(path.join(b().rootfs, 'etc/machine-id'), 'utf8').trim()
    : '';
  if (id) secrets.push(id);
  // the minimal rootfs has both (openssh-server and systemd made them): something to look for
  assert.ok(secrets.length > 1 && id !== '', `nothing to look for in the rootfs: ${secrets.length} secrets`);
  // a control that ships (a line of the rootfs's /etc/ssh/moduli, in its first block): the
  // search finds what is on the disk
  const control = readFileSync(path.join(b().rootfs, 'etc/ssh/moduli'), 'utf8')
    .slice(0, 4096)
    .split('\n')
    .find((l) => /^\d{14} /.test(l) && l.length > 200);
  assert.ok(control, 'no line of /etc/ssh/moduli to use as a control');
  // an uncompressed copy holds every allocated cluster as it is on the disk
  const plain = path.join(DIR, 'plain.qcow2');
  const patterns = path.join(DIR, 'secrets');
  writeFileSync(patterns, `${secrets.join('\n')}\n`);
  try {
    await execa('qemu-img', ['convert', '-O', 'qcow2', path.join(OUT, `${NAME}.qcow2`), plain]);
    const r = await execa('grep', ['-a', '-o', '-F', '-f', patterns, plain], {
      reject: false,
      maxBuffer: 1e8,
    });
    assert.is(r.exitCode, 1, `found in ${NAME}.qcow2: ${[...new Set(r.stdout.split('\n'))].join(', ')}`);
    const found = await execa('grep', ['-a', '-c', '-F', control!, plain], { reject: false });
    assert.is(found.exitCode, 0, `the control line of /etc/ssh/moduli is not found in ${NAME}.qcow2`);
  } finally {
    rmSync(plain, { force: true });
    rmSync(patterns, { force: true });
  }
});

test('each image has a detached signature that gpg accepts, and only for that image', async () => {
  for (const f of [`${NAME}.iso`, `${NAME}.qcow2`]) {
    const sig = path.join(OUT, `${f}.asc`);
    assert.match(readFileSync(sig, 'utf8'), /^-----BEGIN PGP SIGNATURE-----/);
    const r = await execa('gpg', ['--batch', '--status-fd', '1', '--verify', sig, path.join(OUT, f)], {
      env: gpgEnv,
      reject: false,
    });
    assert.is(r.exitCode, 0, `${f}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`VALIDSIG ${b().fingerprint}`));
  }
  const wrong = await execa(
    'gpg',
    ['--batch', '--verify', path.join(OUT, `${NAME}.iso.asc`), path.join(OUT, `${NAME}.qcow2`)],
    { env: gpgEnv, reject: false },
  );
  assert.is.not(wrong.exitCode, 0, 'the ISO signature verifies the QCOW2');
});

test('each image has an SPDX SBOM beside it that names it and its packages', () => {
  for (const f of [`${NAME}.iso`, `${NAME}.qcow2`]) {
    const doc = JSON.parse(readFileSync(path.join(OUT, `${f}.spdx.json`), 'utf8'));
    const sha = readFileSync(path.join(OUT, `${f}.sha256`), 'utf8').split(' ')[0];
    assert.is(doc.spdxVersion, 'SPDX-2.3');
    assert.ok(doc.documentNamespace.endsWith(sha), doc.documentNamespace);
    const image = doc.packages.find((p: { SPDXID: string }) => p.SPDXID === 'SPDXRef-Image');
    assert.is(image.name, f);
    assert.is(image.checksums[0].checksumValue, sha);
    assert.is(doc.packages.length, b().manifest.packages.length + 1);
    assert.ok(
      doc.relationships.some(
        (r: { relationshipType: string; relatedSpdxElement: string }) =>
          r.relationshipType === 'DESCRIBES' && r.relatedSpdxElement === 'SPDXRef-Image',
      ),
    );
    const sudo = doc.packages.find((p: { name: string }) => p.name === 'sudo');
    assert.match(
      sudo.externalRefs[0].referenceLocator,
      /^pkg:deb\/debian\/sudo@[^?]+\?arch=amd64&distro=debian-bookworm$/,
    );
  }
});

test.run();
