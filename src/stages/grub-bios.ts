import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { GRUB_I386 } from './grub.ts';

/**
 * BIOS boot on a GPT disk without grub-install's device probing (which cannot map loop or nbd
 * partitions): the MBR gets GRUB's boot.img pointing at the bios_grub partition, and that
 * partition gets a core.img whose first sector (diskboot) lists where the rest of it lies.
 * These are the two patches grub-bios-setup makes; both are pure and unit-tested.
 */

const SECTOR = 512;
/** boot.S: LBA of the first sector of core.img. */
const KERNEL_SECTOR_OFFSET = 0x5c;
/** boot.S: 2-byte jump skipped for hard disks (buggy BIOS boot-drive workaround). */
const DRIVE_CHECK_OFFSET = 0x66;
/** diskboot.S: the first blocklist entry sits at the end of its sector. */
const BLOCKLIST_OFFSET = SECTOR - 12;
/** Bytes of the MBR that belong to boot code (the partition table follows). */
const MBR_CODE_BYTES = 440;

export function patchBootImg(bootImg: Buffer, coreLba: number): Buffer {
  if (bootImg.length !== SECTOR)
    throw new UserError(`boot.img must be ${SECTOR} bytes, got ${bootImg.length}`);
  const out = Buffer.from(bootImg);
  out.writeBigUInt64LE(BigInt(coreLba), KERNEL_SECTOR_OFFSET);
  out[DRIVE_CHECK_OFFSET] = 0x90;
  out[DRIVE_CHECK_OFFSET + 1] = 0x90;
  return out;
}

export function patchCoreImg(coreImg: Buffer, coreLba: number): Buffer {
  const sectors = Math.ceil(coreImg.length / SECTOR);
  const out = Buffer.alloc(sectors * SECTOR);
  coreImg.copy(out);
  out.writeBigUInt64LE(BigInt(coreLba + 1), BLOCKLIST_OFFSET);
  out.writeUInt16LE(sectors - 1, BLOCKLIST_OFFSET + 8);
  return out;
}

/** Early config embedded in core.img: find /boot by UUID, then normal.mod and grub.cfg load from there. */
export function coreEarlyConfig(bootUuid: string, prefix: string): string {
  return `search.fs_uuid ${bootUuid} root\nset prefix=($root)${prefix}\n`;
}

export function grubMkimageBiosArgv(out: string, earlyCfg: string, prefix: string): string[] {
  return [
    'grub-mkimage',
    '--format=i386-pc',
    `--directory=${GRUB_I386}`,
    `--output=${out}`,
    `--config=${earlyCfg}`,
    `--prefix=${prefix}`,
    'biosdisk',
    'part_gpt',
    'part_msdos',
    'ext2',
    'xfs',
    'search_fs_uuid',
  ];
}

/** Write boot code into a raw disk image: MBR code area and the bios_grub partition. */
export function writeBiosBoot(
  rawImage: string,
  coreImg: Buffer,
  biosGrub: { firstSector: number; lastSector: number },
): void {
  const boot = patchBootImg(readFileSync(path.join(GRUB_I386, 'boot.img')), biosGrub.firstSector);
  const core = patchCoreImg(coreImg, biosGrub.firstSector);
  const room = (biosGrub.lastSector - biosGrub.firstSector + 1) * SECTOR;
  if (core.length > room)
    throw new UserError(
      `GRUB core image (${core.length} bytes) does not fit the bios_grub partition (${room} bytes)`,
      'make the bios_grub partition larger',
    );
  const fd = openSync(rawImage, 'r+');
  try {
    writeSync(fd, boot, 0, MBR_CODE_BYTES, 0);
    writeSync(fd, core, 0, core.length, biosGrub.firstSector * SECTOR);
  } finally {
    closeSync(fd);
  }
}
