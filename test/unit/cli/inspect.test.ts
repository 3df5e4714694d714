import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatReport, reportJson } from '../../../src/cli/inspect.ts';
import type { ImageReport } from '../../../src/inspect/image.ts';

const REPORT: ImageReport = {
  image: { path: 'out/m.qcow2', format: 'qcow2', bytes: 1024 ** 3, virtualBytes: 19 * 1024 ** 3 },
  manifest: {
    file: 'out/m.manifest.json',
    profile: 'm',
    distro: 'debian-bookworm',
    kernel: '6.1.0-56-amd64',
    builtAt: '2026-11-25T21:04:28.326Z',
    rootfsKey: 'abc',
    packages: 1,
    sha256: 'f'.repeat(64),
    matches: false,
  },
  packages: [
    {
      name: 'linux-image-6.1.0-56-amd64',
      version: '6.1.158-1',
      architecture: 'amd64',
      source: 'linux-signed-amd64',
      sourceVersion: '6.1.158+1',
    },
  ],
  boot: {
    config: '/boot/grub/grub.cfg',
    entries: [
      {
        title: 'm (debian-bookworm)',
        kernel: '/vmlinuz-6.1.0-56-amd64',
        cmdline: ['root=UUID=x', 'ro', 'quiet'],
      },
    ],
  },
  bootChain: [
    {
      path: 'EFI/BOOT/BOOTX64.EFI',
      kind: 'pe',
      bytes: 3 * 1024 ** 2,
      sha256: 'a'.repeat(64),
      signatures: [],
    },
    {
      path: '/boot/vmlinuz-6.1.0-56-amd64',
      kind: 'pe',
      bytes: 8 * 1024 ** 2,
      sha256: 'b'.repeat(64),
      signatures: [{ subject: 'Debian Secure Boot Signer 2022 - linux', issuer: 'Debian Secure Boot CA' }],
    },
  ],
  disk: {
    guid: 'G',
    sectors: 39845888,
    sectorSize: 512,
    partitions: [
      {
        number: 1,
        firstSector: 2629632,
        lastSector: 39845854,
        code: '8300',
        name: 'root',
        offset: 0,
        bytes: 18 * 1024 ** 3,
        filesystem: 'ext4',
        uuid: 'u-1',
        mountpoint: '/',
      },
      {
        number: 2,
        firstSector: 2048,
        lastSector: 10239,
        code: 'EF02',
        name: 'bios',
        offset: 0,
        bytes: 4 * 1024 ** 2,
      },
    ],
  },
  files: [
    { path: '/etc/a', resolved: '/etc/a', content: Buffer.from('text\n') },
    { path: '/bin/x', resolved: '/usr/bin/x', content: Buffer.from([0xff, 0x00, 0x80]) },
  ],
  listings: [
    {
      path: '/etc/ssh',
      resolved: '/etc/ssh',
      entries: [{ name: 'moduli', type: 'f', mode: 0o644, uid: 0, gid: 0, size: 9 }],
    },
  ],
};

test('formatReport: every section, a manifest of another build called out', () => {
  const text = formatReport({ ...REPORT, listings: [] });
  assert.match(text, /^image {5}out\/m\.qcow2 \(qcow2, 1\.0 GiB, 19\.0 GiB virtual\)$/m);
  assert.match(text, /does NOT match the image: the manifest is of another build/);
  assert.match(text, /^ {4}root=UUID=x ro quiet$/m);
  assert.match(
    text,
    /^boot chain \(UEFI\): EFI\/BOOT\/BOOTX64\.EFI unsigned → \/boot\/vmlinuz-6\.1\.0-56-amd64 signed by Debian Secure Boot Signer 2022 - linux \(Debian Secure Boot CA\)$/m,
  );
  assert.match(text, /^ {2}EFI\/BOOT\/BOOTX64\.EFI +3\.0 MiB {2}unsigned$/m);
  assert.match(text, /^ {2}1 +2629632 +39845854 .*8300 Linux filesystem +root +ext4 +u-1 +\/$/m);
  assert.match(text, /^ {2}2 +2048 .*EF02 BIOS boot partition +bios +- +- +-$/m);
  assert.match(text, /^packages \(1 installed\):\n {2}linux-image-6\.1\.0-56-amd64 6\.1\.158-1 amd64$/m);
});

test('formatReport with --cat/--ls: only the listings (file contents are printed raw by the command)', () => {
  const text = formatReport(REPORT, true);
  assert.is(text, '/etc/ssh:\n  -0644 0:0                9  moduli\n');
});

test('reportJson: text files as text, others as base64; the boot chain as it is', () => {
  const j = reportJson(REPORT) as { files: Record<string, unknown>[]; bootChain: unknown };
  assert.equal(j.bootChain, REPORT.bootChain);
  assert.equal(j.files, [
    { path: '/etc/a', resolved: '/etc/a', bytes: 5, content: 'text\n' },
    { path: '/bin/x', resolved: '/usr/bin/x', bytes: 3, base64: '/wCA' },
  ]);
});

test.run();
