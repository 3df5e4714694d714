/**
 * The image formats' vocabulary (no dependencies: the CLI's help, the schema and the space
 * estimate read it). Each format belongs to a family, the kind of configured tree it is made
 * from: `live` (a live system: the ISO, network boot), `disk` (one finished raw disk, converted
 * to each disk format) or `tree` (the configured root filesystem itself). A family's tree is
 * configured once and shared by all its formats; operations scoped to a family (`contexts`)
 * apply to it only. The plug-ins that make each format are in src/formats/ (one per name here).
 */

export const FAMILIES = ['live', 'disk', 'tree'] as const;
export type Family = (typeof FAMILIES)[number];

/** The sizes a format's output is estimated from (bytes). */
export interface SizeBasis {
  /** The live base squashfs. */
  squashfs: number;
  /** The raw disk (at most the layout's size). */
  raw: number;
  /** The root filesystem as files. */
  rootfs: number;
  /** Whether the QCOW2 is compressed. */
  compressQcow2: boolean;
}

export interface FormatInfo {
  family: Family;
  /** The output's name after `<profile>.`: a file, or for `pxe` a folder. */
  suffix: string;
  /** One line for --help and the README. */
  summary: string;
  /** How `boot` and `inspect` open it (the image kind its bytes show); none: it does not boot. */
  opens?: 'iso' | 'qcow2' | 'raw' | 'vmdk' | 'vhdx' | 'pxe';
  /** The host tools it needs: a stage of native-tools/tools.ts (its family's, or its own). */
  tools: 'iso' | 'qcow2' | 'tar';
  /** The output's estimated size, for the up-front space check. */
  size: (s: SizeBasis) => number;
}

const MiB = 1024 * 1024;

export const FORMAT_INFO = {
  iso: {
    opens: 'iso',
    tools: 'iso',
    family: 'live',
    suffix: 'iso',
    summary: 'live ISO (BIOS + UEFI) with a cloud-init config drive',
    size: (s) => s.squashfs + 128 * MiB,
  },
  pxe: {
    opens: 'pxe',
    tools: 'iso',
    family: 'live',
    suffix: 'pxe',
    summary: 'network boot folder: kernel, initrd, root squashfs and an iPXE script',
    size: (s) => s.squashfs + 96 * MiB,
  },
  qcow2: {
    opens: 'qcow2',
    tools: 'qcow2',
    family: 'disk',
    suffix: 'qcow2',
    summary: 'QCOW2 disk (BIOS + UEFI), zlib-compressed by default',
    size: (s) => (s.compressQcow2 ? Math.ceil(s.rootfs * 0.45) : s.raw),
  },
  raw: {
    opens: 'raw',
    tools: 'qcow2',
    family: 'disk',
    suffix: 'img',
    summary: 'sparse raw disk, same layout and boot loaders as the QCOW2',
    size: (s) => s.raw,
  },
  vmdk: {
    opens: 'vmdk',
    tools: 'qcow2',
    family: 'disk',
    suffix: 'vmdk',
    summary: 'stream-optimized VMDK for VMware',
    size: (s) => Math.ceil(s.rootfs * 0.45),
  },
  vhdx: {
    opens: 'vhdx',
    tools: 'qcow2',
    family: 'disk',
    suffix: 'vhdx',
    summary: 'dynamic VHDX for Hyper-V',
    size: (s) => s.raw,
  },
  tar: {
    tools: 'tar',
    family: 'tree',
    suffix: 'tar.zst',
    summary: 'the configured root filesystem as a zstd tarball (owners, xattrs, capabilities kept)',
    size: (s) => Math.ceil(s.rootfs * 0.4),
  },
} as const satisfies Record<string, FormatInfo>;

export type Format = keyof typeof FORMAT_INFO;
/** Every format, in the order a build makes them (a family's formats together). */
export const FORMATS = Object.keys(FORMAT_INFO) as [Format, ...Format[]];

/** The original tool's context names, still accepted for the families they meant. */
export const CONTEXT_ALIASES = { iso: 'live', qcow2: 'disk' } as const satisfies Record<string, Family>;

export const familyOf = (f: Format): Family => FORMAT_INFO[f].family;

/** The families of these formats, in FAMILIES order. */
export function familiesOf(formats: readonly Format[]): Family[] {
  return FAMILIES.filter((fam) => formats.some((f) => familyOf(f) === fam));
}

/** The output's name in the output folder. */
export const outputName = (profile: string, f: Format): string => `${profile}.${FORMAT_INFO[f].suffix}`;
