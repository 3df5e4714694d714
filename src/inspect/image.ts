/**
 * `ib-native inspect IMAGE`: what a produced ISO or disk (QCOW2, raw, VMDK, VHDX: all read through
 * a raw copy) holds, read offline (no boot, no mount): its build manifest, the installed packages,
 * the kernel command line of its boot menu, the partition table (disks), the layers (ISO), the UEFI
 * boot chain (EFI binaries and kernels with their signers), and any file or folder of the system it
 * boots.
 */
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { type ImageFileKind, imageKindOfHead, MAGIC_BYTES } from '../disk/magic.ts';
import { preflight } from '../doctor.ts';
import { UserError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';
import { type InstalledPackage, parseDpkgStatus } from '../sys/dpkg.ts';
import { sha256File } from '../sys/files.ts';
import {
  type BootChainEntry,
  type BootFile,
  bootChainOf,
  diskBootFiles,
  isoBootFiles,
} from './boot-chain.ts';
import { type DiskPartition, openDisk } from './disk.ts';
import type { Entry } from './entries.ts';
import { openIso } from './iso.ts';
import { type GrubEntry, parseGrubCfg } from './parsers.ts';
import { type ImageFs, normalPath, resolvePath } from './paths.ts';

export type ImageFormat = ImageFileKind;

/** What the first bytes of a file say it is (pure): an ISO, or a QCOW2, raw, VMDK or VHDX disk. */
export const detectFormat = imageKindOfHead;

/** The sidecar manifest of an image: `out/minimal.qcow2` -> `out/minimal.manifest.json`. */
export function manifestPathOf(image: string): string {
  return path.join(path.dirname(image), `${path.basename(image).replace(/\.[^.]+$/, '')}.manifest.json`);
}

export interface ManifestSummary {
  file: string;
  profile?: string;
  distro?: string;
  kernel?: string;
  rootfsKey?: string;
  builtAt?: string;
  packages?: number;
  /** The sha256 the manifest records for this image, and whether the image still has it. */
  sha256?: string;
  matches?: boolean;
  /** Why the manifest could not be read. */
  error?: string;
}

export interface FileContent {
  /** As asked. */
  path: string;
  /** Where it is once links are followed. */
  resolved: string;
  content: Buffer;
}

export interface Listing {
  path: string;
  resolved: string;
  entries: (Entry & { name: string })[];
}

export interface ImageReport {
  image: { path: string; format: ImageFormat; bytes: number; virtualBytes?: number };
  manifest?: ManifestSummary;
  packages: InstalledPackage[];
  boot: { config: string; entries: GrubEntry[] };
  /** The EFI binaries and grub.cfg files of the EFI system partition, then the kernels; empty when not asked for. */
  bootChain: BootChainEntry[];
  /** A disk (QCOW2, raw, VMDK, VHDX): the GPT and what each partition holds. */
  disk?: { guid: string; sectors: number; sectorSize: number; partitions: DiskPartition[] };
  /** ISO: the squashfs layers, bottom first. */
  layers?: { name: string; bytes: number; entries: number; whiteouts: number; opaque: string[] }[];
  files: FileContent[];
  listings: Listing[];
}

export interface InspectOptions {
  cat?: readonly string[];
  ls?: readonly string[];
  /** Where the scratch folder (a disk's raw copy) goes; removed before returning. */
  tmpDir?: string;
  /** Check the image against the sha256 its manifest records (reads the whole image; default true). */
  verify?: boolean;
  /** Read the boot chain: the ESP's EFI binaries and the kernels, with their signers (default true). */
  bootChain?: boolean;
}

async function readManifest(image: string, verify: boolean): Promise<ManifestSummary | undefined> {
  const file = manifestPathOf(image);
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8'));
    const out = (m.outputs ?? []) as { file: string; sha256: string }[];
    const mine = out.find((o) => o.file === path.basename(image));
    return {
      file,
      profile: m.profile?.name,
      distro: m.distro?.name ?? m.profile?.distro,
      kernel: m.kernel,
      rootfsKey: m.rootfsKey,
      builtAt: m.builtAt,
      packages: Array.isArray(m.packages) ? m.packages.length : undefined,
      ...(mine && { sha256: mine.sha256 }),
      ...(mine && verify && { matches: (await sha256File(image)) === mine.sha256 }),
    };
  } catch (e) {
    return { file, error: (e as Error).message };
  }
}

function readHead(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(MAGIC_BYTES);
    const n = readSync(fd, b, 0, b.length, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

async function resolveOrFail(fs: ImageFs, image: string, asked: string, want: 'file' | 'folder') {
  const r = await resolvePath(normalPath(asked), fs.lstat, fs.readlink);
  if (!r.found) {
    const why = fs.whyAbsent?.(r.at);
    const reason = r.loop
      ? `too many levels of links at ${r.at}`
      : r.notFolder
        ? `${r.at} is not a folder`
        : `${r.at} does not exist${why ? ` (${why})` : ''}`;
    throw new UserError(
      `${path.basename(image)}: ${asked} is not in the image: ${reason}`,
      `list a folder with --ls (for example --ls ${path.posix.dirname(r.at)}); paths are those of the booted system`,
    );
  }
  if (want === 'file' && r.entry.type !== 'f')
    throw new UserError(
      `${path.basename(image)}: ${asked} is ${r.entry.type === 'd' ? 'a folder' : 'not a regular file'}`,
      r.entry.type === 'd' ? `list it with --ls ${asked}` : '--cat reads regular files',
    );
  if (want === 'folder' && r.entry.type !== 'd')
    throw new UserError(`${path.basename(image)}: ${asked} is not a folder`, `read it with --cat ${asked}`);
  return r.path;
}

const IMAGES = 'a .iso, .qcow2, .img, .vmdk or .vhdx';

export async function inspectImage(
  runner: Runner,
  image: string,
  o: InspectOptions = {},
): Promise<ImageReport> {
  if (!existsSync(image))
    throw new UserError(`${image}: no such file`, `give the path of ${IMAGES} that ib-native built`);
  if (!statSync(image).isFile()) throw new UserError(`${image} is not a file`, `give the path of ${IMAGES}`);
  const format = detectFormat(readHead(image));
  if (!format)
    throw new UserError(
      `${image} is neither an ISO nor a disk image (QCOW2, raw, VMDK, VHDX)`,
      `give the path of ${IMAGES} that ib-native built`,
    );
  // the tools it reads the image with, all at once, with the apt-get line that installs them
  preflight({ stages: ['inspect'] });
  const scratch = mkdtempSync(path.join(o.tmpDir ?? process.env.TMPDIR ?? '/var/tmp', 'ib-native-inspect-'));
  try {
    const report: Omit<ImageReport, 'packages' | 'boot' | 'bootChain' | 'files' | 'listings'> = {
      image: { path: image, format, bytes: statSync(image).size },
      manifest: await readManifest(image, o.verify ?? true),
    };
    let fs: ImageFs;
    let grub: { config: string; text?: string };
    let bootFiles: () => Promise<BootFile[]>;
    if (format === 'iso') {
      const iso = await openIso(runner, image, scratch);
      fs = iso.fs;
      grub = {
        config: '/boot/grub/grub.cfg (ISO 9660)',
        text: iso.readIsoFile('/boot/grub/grub.cfg')?.toString(),
      };
      report.layers = iso.layers.map((l) => ({
        name: l.name,
        bytes: l.bytes,
        entries: l.listing.size,
        whiteouts: [...l.listing.values()].filter((e) => e.whiteout).length,
        opaque: [...(l.opaque ?? [])].sort(),
      }));
      bootFiles = () => isoBootFiles(runner, image, iso);
    } else {
      const disk = await openDisk(runner, image, scratch);
      fs = disk.fs;
      report.image.virtualBytes = disk.virtualBytes;
      report.disk = {
        guid: disk.table.diskGuid,
        sectors: disk.table.sectors,
        sectorSize: disk.table.sectorSize,
        partitions: disk.partitions,
      };
      const cfg = await resolvePath('/boot/grub/grub.cfg', fs.lstat, fs.readlink);
      grub = {
        config: '/boot/grub/grub.cfg',
        text: cfg.found ? (await fs.read(cfg.path)).toString() : undefined,
      };
      bootFiles = () => diskBootFiles(runner, disk);
    }
    const status = await resolvePath('/var/lib/dpkg/status', fs.lstat, fs.readlink);
    const packages = status.found ? parseDpkgStatus((await fs.read(status.path)).toString()) : [];
    const files: FileContent[] = [];
    for (const p of o.cat ?? []) {
      const resolved = await resolveOrFail(fs, image, p, 'file');
      files.push({ path: p, resolved, content: await fs.read(resolved) });
    }
    const listings: Listing[] = [];
    for (const p of o.ls ?? []) {
      const resolved = await resolveOrFail(fs, image, p, 'folder');
      const entries = [...(await fs.list(resolved))].map(([name, e]) => ({ name, ...e }));
      listings.push({ path: p, resolved, entries: entries.sort((a, b) => a.name.localeCompare(b.name)) });
    }
    return {
      ...report,
      packages,
      boot: { config: grub.config, entries: grub.text ? parseGrubCfg(grub.text) : [] },
      bootChain: (o.bootChain ?? true) ? await bootChainOf(await bootFiles()) : [],
      files,
      listings,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
