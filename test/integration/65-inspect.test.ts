/**
 * `ib-native inspect` on real images, without booting them: builds minimal (debian-bookworm, from
 * the shared cached rootfs) with a sysctl value, a kernel argument, a changed file, a deleted file
 * and a folder that is deleted and made again (an opaque folder in the ISO's overlay layer), as an
 * ISO and a QCOW2; then checks what inspect reports: the manifest, the packages (kernel included),
 * the boot command line the profile asks for, the QCOW2's partition table against the profile's
 * layout, the boot chain (the ESP's EFI/BOOT/BOOTX64.EFI and the kernel, with their signers), file
 * contents as the booted system sees them, deletions honoured (whiteouts, opaque folders), bad
 * input on the UserError path, and no scratch files left.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planBuild } from '../../src/build.ts';
import { diskCmdline, liveCmdline } from '../../src/modules/grub.ts';
import { MINIMAL } from '../helpers/bad-input.ts';
import { cli, DISTRO, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('inspect');
const OUT = path.join(DIR, 'out');
const TMP = path.join(DIR, 'tmp');
const NAME = 'inspected';
const PROFILE = path.join(DIR, `${NAME}.ts`);
/** Deletes a file of the rootfs, and makes /etc/update-motd.d again with other content (an opaque folder). */
const SCRIPT = `#!/bin/sh
set -e
rm /etc/issue.net
rm -rf /etc/update-motd.d
mkdir /etc/update-motd.d
printf '#!/bin/sh\\necho site\\n' > /etc/update-motd.d/50-site
chmod 0755 /etc/update-motd.d/50-site
`;

interface Report {
  image: { format: string };
  manifest?: { profile: string; distro: string; matches?: boolean };
  packages: { name: string; version: string }[];
  boot: { entries: { kernel: string; cmdline: string[] }[] };
  bootChain: { path: string; kind: string; signatures: { subject: string; issuer: string }[] }[];
  disk?: {
    partitions: {
      number: number;
      firstSector: number;
      lastSector: number;
      name: string;
      filesystem?: string;
      mountpoint?: string;
    }[];
  };
  layers?: { name: string; whiteouts: number; opaque: string[] }[];
  files: { path: string; content?: string }[];
  listings: { path: string; entries: { name: string; type: string; mode: number }[] }[];
}

const env = { TMPDIR: TMP };
const reports = new Map<string, Report>();
const image = (format: string) => path.join(OUT, `${NAME}.${format}`);

async function inspect(format: string, ...args: string[]) {
  return cli(['inspect', image(format), ...args], { env });
}

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  mkdirSync(TMP, { recursive: true });
  writeFileSync(
    PROFILE,
    `import { defineProfile } from 'ib-native';
export default defineProfile(${JSON.stringify({
      name: NAME,
      extends: MINIMAL,
      distro: DISTRO,
      sysctl: { 'vm.swappiness': '13' },
      kernel: { cmdline: { 'ib_native.inspect': 'yes' } },
      files: [{ path: '/etc/motd', content: 'inspected by ib-native\n' }],
      userScripts: [{ name: 'delete-and-remake', content: SCRIPT }],
    })});
`,
  );
  const r = await cli(['build', '--profile', PROFILE, '--format', 'iso,qcow2', '--output', OUT]);
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  for (const format of ['iso', 'qcow2']) {
    const j = await inspect(
      format,
      '--json',
      ...['--cat', '/etc/sysctl.d/99-ib-native.conf', '--cat', '/etc/motd', '--cat', '/etc/os-release'],
      ...['--ls', '/etc/update-motd.d'],
    );
    assert.is(j.exitCode, 0, j.all);
    reports.set(format, JSON.parse(j.stdout) as Report);
  }
});

test.after(() => rmSync(DIR, { recursive: true, force: true }));

const report = (format: string) => {
  const r = reports.get(format);
  if (!r) throw new Error('the build or inspect in test.before failed');
  return r;
};

test('the manifest beside each image is shown and matches it', () => {
  for (const format of ['iso', 'qcow2']) {
    const r = report(format);
    assert.is(r.image.format, format);
    assert.is(r.manifest?.profile, NAME);
    assert.is(r.manifest?.distro, DISTRO);
    assert.is(r.manifest?.matches, true, `${format}: the manifest's sha256 does not match`);
  }
});

test('the installed packages are listed, the kernel among them', () => {
  for (const format of ['iso', 'qcow2']) {
    const names = report(format).packages.map((p) => p.name);
    assert.ok(
      names.some((n) => /^linux-image-\d/.test(n)),
      `${format}: no kernel in ${names.join(' ')}`,
    );
    assert.ok(names.includes('cloud-init'), `${format}: no cloud-init`);
    assert.not.ok(names.includes('unattended-upgrades'), `${format}: a blocked package`);
  }
});

test("the boot menu's command line is the profile's (live on the ISO, disk on the QCOW2)", async () => {
  const plan = await planBuild(PROFILE, {});
  const iso = report('iso').boot.entries;
  assert.is(iso.length, 1);
  assert.equal(iso[0]!.cmdline, liveCmdline(plan.profile));
  assert.ok(iso[0]!.cmdline.includes('ib_native.inspect=yes'));
  const disk = report('qcow2').boot.entries;
  assert.is(disk.length, 1);
  const [root, ro, ...rest] = disk[0]!.cmdline;
  assert.match(root!, /^root=UUID=[0-9a-f-]{36}$/);
  assert.is(ro, 'ro');
  assert.equal(rest, diskCmdline(plan.profile));
  assert.ok(rest.includes('ib_native.inspect=yes'));
});

test("the boot chain: the ESP holds the distro's signed chain (shim by Microsoft's UEFI CA, its GRUB and kernel by the distro)", async () => {
  // issue 14: Secure Boot is on by default for debian-bookworm, whose chain is signed so
  const signer = (e: { signatures: { subject: string; issuer: string }[] } | undefined) =>
    (e?.signatures ?? []).map((s) => `${s.subject} (${s.issuer})`).join('; ');
  for (const format of ['iso', 'qcow2']) {
    const chain = report(format).bootChain;
    const at = (p: string) => chain.find((e) => e.path.toLowerCase() === p.toLowerCase());
    const shim = at('EFI/BOOT/BOOTX64.EFI');
    assert.ok(shim, `${format}: no BOOTX64.EFI in ${JSON.stringify(chain)}`);
    assert.is(shim!.kind, 'pe');
    assert.match(
      signer(shim),
      /Microsoft Windows UEFI Driver Publisher \(Microsoft Corporation UEFI CA 2011\)/,
    );
    assert.match(
      signer(at('EFI/BOOT/grubx64.efi')),
      /^Debian Secure Boot Signer [^;]*grub2 \(Debian Secure Boot CA\)$/,
    );
    assert.match(
      signer(at('EFI/BOOT/mmx64.efi')),
      /Debian Secure Boot Signer [^;]*shim \(Debian Secure Boot CA\)/,
    );
    assert.not.ok(at('EFI/BOOT/fbx64.efi'), `${format}: the fallback loader is in EFI/BOOT`);
    const kernel = chain.find((e) => e.path.startsWith('/boot/vmlinuz'));
    assert.match(signer(kernel), /Debian Secure Boot Signer [^;]*linux \(Debian Secure Boot CA\)/);
  }
  // the disk also has the distro's own folder, with the grub.cfg its signed GRUB reads
  const disk = report('qcow2').bootChain.map((e) => e.path);
  for (const f of ['EFI/debian/shimx64.efi', 'EFI/debian/grubx64.efi', 'EFI/debian/grub.cfg'])
    assert.ok(disk.includes(f), `${f} not on the QCOW2's ESP: ${disk.join(' ')}`);
  const text = await inspect('iso');
  assert.is(text.exitCode, 0, text.all);
  assert.match(
    text.stdout,
    /^boot chain \(UEFI\): EFI\/BOOT\/BOOTX64\.EFI signed by Microsoft.* → EFI\/BOOT\/grubx64\.efi signed by Debian.* → \/boot\/vmlinuz/m,
  );
});

test("the QCOW2's partition table is the profile's layout, each filesystem where fstab mounts it", async () => {
  const { layout } = await planBuild(PROFILE, {});
  const parts = report('qcow2').disk!.partitions;
  assert.equal(
    parts.map((p) => [p.number, p.name, p.firstSector, p.lastSector, p.mountpoint]),
    layout!.partitions.map((p) => [p.number, p.name, p.firstSector, p.lastSector, p.mountpoint]),
  );
  assert.equal(
    parts.map((p) => p.filesystem ?? 'none'),
    layout!.partitions.map((p) => p.filesystem),
  );
  const text = await inspect('qcow2');
  assert.is(text.exitCode, 0, text.all);
  assert.match(text.stdout, /^partitions \(GPT /m);
  assert.match(text.stdout, /^ {2}1 +\d+ +\d+ .* root +ext4 +[0-9a-f-]{36} +\/$/m);
  assert.match(text.stdout, /sha256 [0-9a-f]{64} matches the image/);
});

test('--cat shows files as the booted system sees them: the sysctl value, a changed file, a link', () => {
  for (const format of ['iso', 'qcow2']) {
    const files = new Map(report(format).files.map((f) => [f.path, f.content ?? '']));
    assert.match(files.get('/etc/sysctl.d/99-ib-native.conf')!, /^vm\.swappiness = 13$/m);
    assert.is(files.get('/etc/motd'), 'inspected by ib-native\n');
    assert.match(files.get('/etc/os-release')!, /^ID=debian$/m);
  }
});

test('--cat prints the file itself in text mode', async () => {
  const r = await inspect('iso', '--cat', '/etc/sysctl.d/99-ib-native.conf');
  assert.is(r.exitCode, 0, r.all);
  assert.match(r.stdout, /^vm\.swappiness = 13$/m);
  assert.not.match(r.stdout, /packages|manifest/);
});

test('a deleted file is absent (the ISO honours the whiteout of its config layer)', async () => {
  const iso = await inspect('iso', '--cat', '/etc/issue.net');
  assert.is(iso.exitCode, 2, iso.all);
  assert.match(iso.stderr, /issue\.net is not in the image: .*\(deleted in config-common\.squashfs\)/);
  assert.match(iso.stderr, /^hint: /m);
  const qcow2 = await inspect('qcow2', '--cat', '/etc/issue.net');
  assert.is(qcow2.exitCode, 2, qcow2.all);
  assert.match(qcow2.stderr, /issue\.net is not in the image: \/etc\/issue\.net does not exist/);
});

test('a folder deleted and made again shows only its new content (opaque in the ISO layer)', () => {
  const layers = report('iso').layers!;
  assert.ok(
    layers.some((l) => l.opaque.includes('/etc/update-motd.d')),
    `no opaque folder in ${JSON.stringify(layers)}`,
  );
  for (const format of ['iso', 'qcow2']) {
    const listing = report(format).listings.find((l) => l.path === '/etc/update-motd.d')!;
    assert.equal(
      listing.entries.map((e) => [e.name, e.type, e.mode.toString(8)]),
      [['50-site', 'f', '755']],
      `${format}: /etc/update-motd.d`,
    );
  }
});

test('bad input takes the UserError path; no scratch file is left', async () => {
  const missing = await cli(['inspect', path.join(OUT, 'nope.qcow2')], { env });
  assert.is(missing.exitCode, 2);
  assert.match(missing.stderr, /no such file/);
  const notImage = await cli(['inspect', PROFILE], { env });
  assert.is(notImage.exitCode, 2);
  assert.match(notImage.stderr, /neither an ISO nor a disk image/);
  const folder = await inspect('qcow2', '--cat', '/etc');
  assert.is(folder.exitCode, 2);
  assert.match(folder.stderr, /\/etc is a folder/);
  // (tsx keeps its own cache in TMPDIR)
  assert.equal(
    readdirSync(TMP).filter((n) => n.startsWith('ib-native-inspect-')),
    [],
    'inspect left scratch files',
  );
});

test.run();
