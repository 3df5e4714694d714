/**
 * The boot chain (pure parts and the walk of an ESP through a reader): which files under EFI/ are
 * taken, EFI/BOOT first, bounded; each read once with its size, sha256 and signers; which of them
 * the firmware runs in turn; the text `inspect` prints.
 */
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatBootChain } from '../../../src/cli/inspect.ts';
import {
  type BootChainEntry,
  bootChainOf,
  bootFileKind,
  chainOf,
  espFiles,
} from '../../../src/inspect/boot-chain.ts';
import type { FsReader } from '../../../src/inspect/disk.ts';
import type { Entry } from '../../../src/inspect/entries.ts';
import { type Keys, makeKeys, pe, sign } from './pe-fixtures.ts';

/** A FAT filesystem in memory: paths to contents (a trailing slash makes a folder); FAT names ignore case. */
function fat(files: Record<string, string | Buffer>): FsReader & { reads: string[] } {
  const reads: string[] = [];
  const entries = new Map<string, Entry>([['/', { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 }]]);
  for (const [p, content] of Object.entries(files)) {
    const parts = p.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++)
      entries.set(`/${parts.slice(0, i).join('/')}`, { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 });
    if (!p.endsWith('/'))
      entries.set(`/${p}`, { type: 'f', mode: 0o644, uid: 0, gid: 0, size: content.length });
  }
  return {
    reads,
    lstat: async (p) => entries.get(p),
    readlink: async () => '',
    read: async (p) => {
      reads.push(p);
      return Buffer.from(files[p.slice(1)]!);
    },
    list: async (dir) =>
      new Map(
        [...entries]
          .filter(([p]) => p !== '/' && p.slice(0, p.lastIndexOf('/') || 1) === dir)
          .map(([p, e]) => [p.slice(p.lastIndexOf('/') + 1), e]),
      ),
  };
}

let keys: Keys;
test.before(() => {
  keys = makeKeys();
});
test.after(() => keys.remove());

test('bootFileKind: EFI binaries and grub.cfg, any case; nothing else', () => {
  assert.equal(
    ['BOOTX64.EFI', 'grubx64.efi', 'grub.cfg', 'GRUB.CFG', 'BOOTX64.CSV', 'grub.cfg.bak', 'x86_64-efi'].map(
      bootFileKind,
    ),
    ['pe', 'pe', 'config', 'config', undefined, undefined, undefined],
  );
});

test('espFiles: EFI binaries and grub.cfg below EFI/, EFI/BOOT first, then by path', async () => {
  const files = await espFiles(
    fat({
      'EFI/debian/shimx64.efi': 'x',
      'EFI/debian/grub.cfg': 'x',
      'EFI/debian/BOOTX64.CSV': 'x',
      'EFI/BOOT/grubx64.efi': 'x',
      'EFI/BOOT/BOOTX64.EFI': 'x',
      'EFI/BOOT/mmx64.efi': 'x',
      'EFI/BOOT/fonts/unicode.pf2': 'x',
      'EFI/ubuntu/x/y/z/deep.efi': 'x',
      'loader/grubx64.efi': 'x',
      'EFI/empty/': '',
    }),
  );
  assert.equal(
    files.map((f) => [f.path, f.kind]),
    [
      ['EFI/BOOT/BOOTX64.EFI', 'pe'],
      ['EFI/BOOT/grubx64.efi', 'pe'],
      ['EFI/BOOT/mmx64.efi', 'pe'],
      ['EFI/debian/grub.cfg', 'config'],
      ['EFI/debian/shimx64.efi', 'pe'],
    ],
  );
  assert.equal(await espFiles(fat({ 'boot/x': 'x' })), []);
  // a lower-case folder, as grub-install may write it
  assert.equal(
    (await espFiles(fat({ 'efi/boot/bootx64.efi': 'x' }))).map((f) => f.path),
    ['efi/boot/bootx64.efi'],
  );
});

test('bootChainOf: each file read once, with its size, sha256 and signers', async () => {
  const signed = pe([sign(keys, 'leaf')]);
  const esp = fat({
    'EFI/BOOT/BOOTX64.EFI': signed,
    'EFI/BOOT/grubx64.efi': pe(),
    'EFI/BOOT/grub.cfg': 'configfile /boot/grub/grub.cfg\n',
  });
  const entries = await bootChainOf([
    ...(await espFiles(esp)),
    { path: '/boot/vmlinuz', kind: 'pe', read: async () => Buffer.from('not a kernel') },
  ]);
  assert.equal(esp.reads, ['/EFI/BOOT/BOOTX64.EFI', '/EFI/BOOT/grub.cfg', '/EFI/BOOT/grubx64.efi']);
  assert.equal(entries, [
    {
      path: 'EFI/BOOT/BOOTX64.EFI',
      kind: 'pe',
      bytes: signed.length,
      sha256: createHash('sha256').update(signed).digest('hex'),
      signatures: [{ subject: 'Test Leaf', issuer: 'Test CA' }],
    },
    {
      path: 'EFI/BOOT/grub.cfg',
      kind: 'config',
      bytes: 31,
      sha256: createHash('sha256').update('configfile /boot/grub/grub.cfg\n').digest('hex'),
      signatures: [],
    },
    {
      path: 'EFI/BOOT/grubx64.efi',
      kind: 'pe',
      bytes: pe().length,
      sha256: createHash('sha256').update(pe()).digest('hex'),
      signatures: [],
    },
    {
      path: '/boot/vmlinuz',
      kind: 'pe',
      bytes: 12,
      sha256: createHash('sha256').update('not a kernel').digest('hex'),
      signatures: [],
      notPe: 'not a PE image (no MZ header)',
    },
  ]);
});

const entry = (path: string, o: Partial<BootChainEntry> = {}): BootChainEntry => ({
  path,
  kind: 'pe',
  bytes: 1024 * 1024,
  sha256: '0'.repeat(64),
  signatures: [],
  ...o,
});
const MS = {
  subject: 'Microsoft Windows UEFI Driver Publisher',
  issuer: 'Microsoft Corporation UEFI CA 2011',
};
const MS23 = { subject: 'Microsoft UEFI CA 2023 signer', issuer: 'Microsoft UEFI CA 2023' };
const GRUB = { subject: 'Debian Secure Boot Signer 2022 - grub2', issuer: 'Debian Secure Boot CA' };
const LINUX = { subject: 'Debian Secure Boot Signer 2022 - linux', issuer: 'Debian Secure Boot CA' };

test('chainOf: BOOTX64.EFI, the grubx64.efi beside it, then the kernels; nothing without BOOTX64.EFI', () => {
  const shim = [
    entry('EFI/BOOT/BOOTX64.EFI', { signatures: [MS, MS23] }),
    entry('EFI/BOOT/grubx64.efi', { signatures: [GRUB] }),
    entry('EFI/BOOT/mmx64.efi'),
    entry('EFI/debian/grub.cfg', { kind: 'config' }),
    entry('/boot/vmlinuz-6.1.0-57-amd64', { signatures: [LINUX] }),
  ];
  assert.equal(
    chainOf(shim).map((e) => e.path),
    ['EFI/BOOT/BOOTX64.EFI', 'EFI/BOOT/grubx64.efi', '/boot/vmlinuz-6.1.0-57-amd64'],
  );
  assert.equal(
    chainOf([entry('EFI/BOOT/BOOTX64.EFI'), entry('/boot/vmlinuz')]).map((e) => e.path),
    ['EFI/BOOT/BOOTX64.EFI', '/boot/vmlinuz'],
  );
  // shim's fallback boots the distribution's shim and its GRUB; without it, GRUB is BOOTX64.EFI itself
  const removable = [
    entry('EFI/BOOT/BOOTX64.EFI', { signatures: [MS] }),
    entry('EFI/BOOT/fbx64.efi'),
    entry('EFI/debian/grubx64.efi', { signatures: [GRUB] }),
    entry('EFI/debian/shimx64.efi', { signatures: [MS] }),
    entry('/boot/vmlinuz'),
  ];
  assert.equal(
    chainOf(removable).map((e) => e.path),
    ['EFI/BOOT/BOOTX64.EFI', 'EFI/debian/grubx64.efi', '/boot/vmlinuz'],
  );
  assert.equal(
    chainOf(removable.filter((e) => !e.path.includes('fbx64'))).map((e) => e.path),
    ['EFI/BOOT/BOOTX64.EFI', '/boot/vmlinuz'],
  );
  assert.equal(chainOf([entry('/boot/vmlinuz')]), []);
});

test('formatBootChain: the chain on one line, then every file with its size and signers', () => {
  const lines = formatBootChain([
    entry('EFI/BOOT/BOOTX64.EFI', { signatures: [MS, MS23] }),
    entry('EFI/BOOT/grubx64.efi', { signatures: [GRUB] }),
    entry('EFI/BOOT/grub.cfg', { kind: 'config', bytes: 100 }),
    entry('/boot/vmlinuz', { signatures: [LINUX] }),
  ]);
  assert.equal(lines, [
    'boot chain (UEFI): EFI/BOOT/BOOTX64.EFI signed by Microsoft Windows UEFI Driver Publisher (Microsoft Corporation UEFI CA 2011), and by Microsoft UEFI CA 2023 signer (Microsoft UEFI CA 2023) → EFI/BOOT/grubx64.efi signed by Debian Secure Boot Signer 2022 - grub2 (Debian Secure Boot CA) → /boot/vmlinuz signed by Debian Secure Boot Signer 2022 - linux (Debian Secure Boot CA)',
    '  EFI/BOOT/BOOTX64.EFI    1.0 MiB  signed by Microsoft Windows UEFI Driver Publisher (Microsoft Corporation UEFI CA 2011), and by Microsoft UEFI CA 2023 signer (Microsoft UEFI CA 2023)',
    '  EFI/BOOT/grubx64.efi    1.0 MiB  signed by Debian Secure Boot Signer 2022 - grub2 (Debian Secure Boot CA)',
    '  EFI/BOOT/grub.cfg         100 B  GRUB configuration',
    '  /boot/vmlinuz           1.0 MiB  signed by Debian Secure Boot Signer 2022 - linux (Debian Secure Boot CA)',
  ]);
  assert.is(
    formatBootChain([entry('EFI/BOOT/BOOTX64.EFI'), entry('/boot/vmlinuz', { error: 'x' })])[0],
    'boot chain (UEFI): EFI/BOOT/BOOTX64.EFI unsigned → /boot/vmlinuz unreadable signature (x)',
  );
  assert.equal(formatBootChain([]), ['boot chain (UEFI): no EFI system partition or kernel found']);
  assert.equal(
    formatBootChain([entry('/boot/vmlinuz')])[0],
    'boot chain (UEFI): no EFI/BOOT/BOOTX64.EFI on an EFI system partition',
  );
});

test.run();
