import { FORMAT_INFO, type FormatInfo } from '../profile/formats.ts';

/** The image files ib-native makes and reads, told apart by their first bytes. */
export type ImageFileKind = 'iso' | 'qcow2' | 'raw' | 'vmdk' | 'vhdx';

/** The disk formats among them: booted through a QCOW2 overlay, read through a raw copy. */
export const DISK_KINDS = ['qcow2', 'raw', 'vmdk', 'vhdx'] as const satisfies readonly ImageFileKind[];

/** How many bytes `imageKindOfHead` reads (up to the ISO 9660 volume descriptor's identifier). */
export const MAGIC_BYTES = 0x8006;

const at = (head: Buffer, offset: number, text: string) =>
  head.subarray(offset, offset + text.length).toString('latin1') === text;

/**
 * What the first bytes of a file say it is (pure): QCOW2 (`QFI\xfb`), VMDK sparse extent
 * (`KDMV`), VHDX (`vhdxfile`), ISO 9660 (`CD001` at 0x8001; checked before the partition table
 * signatures, a hybrid ISO has an MBR too), a raw disk (GPT header `EFI PART` at 512, or the
 * MBR signature 55 AA at 510).
 */
export function imageKindOfHead(head: Buffer): ImageFileKind | undefined {
  if (at(head, 0, 'QFI\xfb')) return 'qcow2';
  if (at(head, 0, 'KDMV')) return 'vmdk';
  if (at(head, 0, 'vhdxfile')) return 'vhdx';
  if (at(head, 0x8001, 'CD001')) return 'iso';
  if (at(head, 512, 'EFI PART') || at(head, 510, '\x55\xaa')) return 'raw';
  return undefined;
}

/** The kind a file's name names (its format's suffix), when its bytes said nothing (an empty or unfinished file). */
export function imageKindOfExtension(ext: string): ImageFileKind | undefined {
  const e = ext.toLowerCase().replace(/^\./, '');
  if (e === 'raw') return 'raw';
  for (const info of Object.values(FORMAT_INFO) as FormatInfo[])
    if (info.suffix === e && info.opens && info.opens !== 'pxe') return info.opens;
  return undefined;
}
