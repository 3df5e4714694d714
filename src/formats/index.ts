import { type Family, type FORMAT_INFO, FORMATS, type Format, familyOf } from '../profile/formats.ts';
import { raw, vhdx, vmdk } from './disk-images.ts';
import { iso } from './iso.ts';
import { pxe } from './pxe.ts';
import { qcow2 } from './qcow2.ts';
import { tar } from './tar.ts';
import type { ImageFormat } from './types.ts';

/**
 * The registry of image formats: one plug-in per name of src/profile/formats.ts (the type
 * checker holds them in step). Adding a format: its name, family and suffix in formats.ts, its
 * module here, a unit test of its plan, a line in the README's format table (ARCHITECTURE.md).
 */
export const IMAGE_FORMATS: { [F in Format]: ImageFormat<(typeof FORMAT_INFO)[F]['family']> } = {
  iso,
  pxe,
  qcow2,
  raw,
  vmdk,
  vhdx,
  tar,
};

export function formatPlugin(f: Format): ImageFormat {
  return IMAGE_FORMATS[f] as ImageFormat;
}

/** The formats of a family among these, in registry order. */
export function formatsOf(family: Family, formats: readonly Format[]): Format[] {
  return FORMATS.filter((f) => formats.includes(f) && familyOf(f) === family);
}
