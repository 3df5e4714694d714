/**
 * The on-disk layout of the `pxe` artifact, shared by the stage that writes it
 * (src/stages/pxe.ts) and the boot check that serves it over QEMU's TFTP (src/boot/qemu.ts).
 * The folder is served as it is: its boot script fetches the other files relative to itself.
 */

/** The artifact is a folder `<name>.pxe/`. */
export const PXE_SUFFIX = '.pxe';

export const PXE_FILES = {
  /** The iPXE script: the DHCP boot file name to give (`boot.ipxe`). */
  script: 'boot.ipxe',
  kernel: 'vmlinuz',
  initrd: 'initrd.img',
  /** The live root, fetched by live-boot over the network (its `fetch=` needs the .squashfs extension). */
  squashfs: 'filesystem.squashfs',
} as const;
