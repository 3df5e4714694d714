import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../../src/distro/debian.ts';
import { ubuntuFocal } from '../../../src/distro/ubuntu.ts';
import { UserError } from '../../../src/errors.ts';
import { diskEspFiles, espFolders, isoEspFiles, REMOVABLE_LOADER } from '../../../src/stages/efi-boot.ts';

/** An image tree holding the chain's files (as their packages install them). */
function treeWith(files: string[]): string {
  const tree = mkdtempSync(path.join(tmpdir(), 'ibn-efi-'));
  for (const f of files) {
    mkdirSync(path.join(tree, path.dirname(f)), { recursive: true });
    writeFileSync(path.join(tree, f), f);
  }
  return tree;
}

const chainFiles = (c: typeof debianBookworm.signedChain | typeof ubuntuFocal.signedChain) => [
  c.shim,
  c.grub,
  c.grubCd,
  c.mokManager,
];

test('diskEspFiles: shim at the removable path with the signed GRUB and MokManager beside it, and the distro folder with its grub.cfg', () => {
  const chain = ubuntuFocal.signedChain;
  const tree = treeWith(chainFiles(chain));
  try {
    const files = diskEspFiles({ chain, tree }, '/work/early.cfg');
    const at = (p: string) => path.join(tree, p);
    assert.equal(files, [
      { from: at('/usr/lib/shim/shimx64.efi.signed.latest'), to: REMOVABLE_LOADER },
      { from: at('/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed'), to: 'EFI/BOOT/grubx64.efi' },
      { from: at('/usr/lib/shim/mmx64.efi'), to: 'EFI/BOOT/mmx64.efi' },
      { from: at('/usr/lib/shim/shimx64.efi.signed.latest'), to: 'EFI/ubuntu/shimx64.efi' },
      { from: at('/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed'), to: 'EFI/ubuntu/grubx64.efi' },
      { from: at('/usr/lib/shim/mmx64.efi'), to: 'EFI/ubuntu/mmx64.efi' },
      // Ubuntu's signed GRUB reads only its prefix's grub.cfg
      { from: '/work/early.cfg', to: 'EFI/ubuntu/grub.cfg' },
    ]);
    assert.not.ok(
      files.some((f) => /fbx64/.test(f.to)),
      'the fallback loader never goes to the ESP',
    );
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test('isoEspFiles: the CD GRUB (gcdx64) as grubx64.efi; own GRUB: the standalone image alone', () => {
  const chain = debianBookworm.signedChain;
  const tree = treeWith(chainFiles(chain));
  try {
    const files = isoEspFiles({ chain, tree }, '/w/early.cfg');
    const inTree = (p: string) => path.join(tree, p);
    assert.equal(files, [
      { from: inTree('/usr/lib/shim/shimx64.efi.signed'), to: REMOVABLE_LOADER },
      { from: inTree('/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed'), to: 'EFI/BOOT/grubx64.efi' },
      { from: inTree('/usr/lib/shim/mmx64.efi.signed'), to: 'EFI/BOOT/mmx64.efi' },
      { from: '/w/early.cfg', to: 'EFI/BOOT/grub.cfg' },
    ]);
    assert.equal(isoEspFiles({ standalone: '/w/bootx64.efi' }, '/w/early.cfg'), [
      { from: '/w/bootx64.efi', to: REMOVABLE_LOADER },
    ]);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test('chain files are looked up inside the image: a missing one is a user error naming it and its packages; a link out of the tree stays inside', () => {
  const chain = debianBookworm.signedChain;
  const tree = treeWith([chain.grub, chain.mokManager]);
  try {
    const err = (() => {
      try {
        diskEspFiles({ chain, tree }, '/w/early.cfg');
      } catch (e) {
        return e;
      }
    })();
    assert.instance(err, UserError);
    assert.match(
      (err as Error).message,
      /the image has no \/usr\/lib\/shim\/shimx64\.efi\.signed.*shim-signed, grub-efi-amd64-signed/,
    );
    // an absolute link resolves in the image, never on the host
    mkdirSync(path.join(tree, 'usr/lib/shim'), { recursive: true });
    symlinkSync('/etc/hostname', path.join(tree, chain.shim));
    assert.throws(
      () => diskEspFiles({ chain, tree }, '/w/early.cfg'),
      /the image has no \/usr\/lib\/shim\/shimx64\.efi\.signed/,
    );
    // a link inside the image is followed there (Ubuntu links shimx64.efi.signed by an alternative)
    writeFileSync(path.join(tree, 'etc-shim'), 'shim');
    rmSync(path.join(tree, chain.shim));
    symlinkSync('/etc-shim', path.join(tree, chain.shim));
    assert.is(diskEspFiles({ chain, tree }, '/w/early.cfg')[0]!.from, path.join(tree, 'etc-shim'));
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
});

test('espFolders: every parent once, shallow first', () => {
  assert.equal(
    espFolders([
      { from: 'a', to: 'EFI/debian/grub.cfg' },
      { from: 'b', to: 'EFI/BOOT/BOOTX64.EFI' },
      { from: 'c', to: 'EFI/debian/shimx64.efi' },
    ]),
    ['EFI', 'EFI/BOOT', 'EFI/debian'],
  );
});

test.run();
