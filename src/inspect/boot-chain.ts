/**
 * The UEFI boot chain of an image (`inspect`): the EFI binaries and grub.cfg files under EFI/ on
 * its EFI system partition (a disk's EF00 partition; on an ISO, the appended GPT partition that is
 * also its El Torito EFI image), then the kernels, each PE binary with its Authenticode signers
 * (authenticode.ts) and every file with its sha256. Which of them the firmware runs in turn
 * (`chainOf`, pure): EFI/BOOT/BOOTX64.EFI, then shim's GRUB when there is one, then the kernel.
 */
import { createHash } from 'node:crypto';
import type { Runner } from '../run/runner.ts';
import { type PeSignatures, peSignatures } from './authenticode.ts';
import { type DiskImage, type DiskPartition, type FsReader, fatReader } from './disk.ts';
import type { IsoImage } from './iso.ts';
import { parseSgdiskPrint } from './parsers.ts';
import { type ImageFs, resolvePath } from './paths.ts';

export interface BootChainEntry extends PeSignatures {
  /** `EFI/BOOT/BOOTX64.EFI`: on the EFI system partition; `/boot/vmlinuz-…`: a kernel, at its path in the image. */
  path: string;
  /** `pe`: an EFI binary or a kernel (its signers); `config`: a grub.cfg on the ESP (`signatures` empty). */
  kind: 'pe' | 'config';
  bytes: number;
  sha256: string;
}

/** A file of the boot chain and how to read it. */
export interface BootFile {
  path: string;
  kind: BootChainEntry['kind'];
  read(): Promise<Buffer>;
}

/** How deep below EFI/ and how many files are looked at (a FAT image is untrusted input too). */
const MAX_DEPTH = 3;
const MAX_FILES = 64;

/** The kind of a file under EFI/ that belongs to the boot chain (pure); undefined for the others. */
export function bootFileKind(name: string): BootFile['kind'] | undefined {
  if (/\.efi$/i.test(name)) return 'pe';
  if (/^grub\.cfg$/i.test(name)) return 'config';
  return undefined;
}

/** The EFI binaries and grub.cfg files below the EFI folder of a FAT filesystem, EFI/BOOT first. */
export async function espFiles(fat: FsReader): Promise<BootFile[]> {
  const out: BootFile[] = [];
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    for (const [name, e] of [...(await fat.list(dir))].sort(([a], [b]) => a.localeCompare(b))) {
      if (out.length >= MAX_FILES) return;
      const p = `${dir === '/' ? '' : dir}/${name}`;
      if (e.type === 'd' && depth < MAX_DEPTH) await walk(p, `${rel}${name}/`, depth + 1);
      const kind = e.type === 'f' ? bootFileKind(name) : undefined;
      if (kind) out.push({ path: `${rel}${name}`, kind, read: () => fat.read(p) });
    }
  };
  // FAT names are case-insensitive: EFI, efi
  for (const [name, e] of await fat.list('/'))
    if (e.type === 'd' && name.toLowerCase() === 'efi') await walk(`/${name}`, `${name}/`, 1);
  const first = (p: string) => (/^efi\/boot\//i.test(p) ? 0 : 1);
  return out.sort((a, b) => first(a.path) - first(b.path) || a.path.localeCompare(b.path));
}

/** Each file read once: its size, sha256 and, for a PE binary, its signers. */
export async function bootChainOf(files: readonly BootFile[]): Promise<BootChainEntry[]> {
  const out: BootChainEntry[] = [];
  for (const f of files) {
    const content = await f.read();
    out.push({
      path: f.path,
      kind: f.kind,
      bytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      ...(f.kind === 'pe' ? peSignatures(content) : { signatures: [] }),
    });
  }
  return out;
}

/**
 * The entries the firmware runs in turn (pure): EFI/BOOT/BOOTX64.EFI; the grubx64.efi beside it
 * (shim's next stage) when there is one, else, beside shim's fallback (fbx64.efi, which boots the
 * shim of the distribution's folder), the grubx64.efi of another EFI folder; then the kernels.
 * Empty without a BOOTX64.EFI.
 */
export function chainOf(entries: readonly BootChainEntry[]): BootChainEntry[] {
  const first = entries.find((e) => /^efi\/boot\/bootx64\.efi$/i.test(e.path));
  if (!first) return [];
  const fallback = entries.some((e) => /^efi\/boot\/fbx64\.efi$/i.test(e.path));
  const grub =
    entries.find((e) => /^efi\/boot\/grubx64\.efi$/i.test(e.path)) ??
    (fallback ? entries.find((e) => /^efi\/[^/]+\/grubx64\.efi$/i.test(e.path)) : undefined);
  const kernels = entries.filter((e) => e.kind === 'pe' && e.path.startsWith('/'));
  return [first, ...(grub ? [grub] : []), ...kernels];
}

/** The FAT reader of the ESP an ISO carries as an appended GPT partition, if it has one. */
export async function isoEsp(runner: Runner, iso: string): Promise<FsReader | undefined> {
  const table = parseSgdiskPrint(
    (await runner.run(['sgdisk', '--print', iso], { context: `reading the partition table of ${iso}` }))
      .stdout,
  );
  const esp = table.partitions.find((p) => p.code === 'EF00');
  return esp ? fatReader(runner, iso, esp.firstSector * table.sectorSize) : undefined;
}

/** The FAT reader of a disk's EFI system partition, if it has one. */
export function diskEsp(
  runner: Runner,
  raw: string,
  partitions: readonly DiskPartition[],
): FsReader | undefined {
  const esp = partitions.find((p) => p.code === 'EF00' && p.filesystem === 'vfat');
  return esp ? fatReader(runner, raw, esp.offset) : undefined;
}

/** The kernels in /boot of the image's system (regular files named vmlinuz*). */
export async function bootKernels(fs: ImageFs): Promise<BootFile[]> {
  const boot = await resolvePath('/boot', fs.lstat, fs.readlink);
  if (!boot.found || boot.entry.type !== 'd') return [];
  return [...(await fs.list(boot.path))]
    .filter(([name, e]) => e.type === 'f' && name.startsWith('vmlinuz'))
    .map(([name]) => name)
    .sort()
    .map((name) => ({
      path: `/boot/${name}`,
      kind: 'pe' as const,
      read: () => fs.read(`${boot.path}/${name}`),
    }));
}

/** An ISO's boot files: its ESP's (the appended partition, its El Torito EFI image), then the kernels of its ISO 9660 tree. */
export async function isoBootFiles(
  runner: Runner,
  image: string,
  iso: Pick<IsoImage, 'files' | 'readIsoFile'>,
): Promise<BootFile[]> {
  const esp = await isoEsp(runner, image);
  const kernels = [...iso.files.keys()].filter((p) => /^\/boot\/vmlinuz[^/]*$/.test(p)).sort();
  return [
    ...(esp ? await espFiles(esp) : []),
    ...kernels.map((p) => ({
      path: p,
      kind: 'pe' as const,
      read: async () => iso.readIsoFile(p) ?? Buffer.alloc(0),
    })),
  ];
}

/** A disk's boot files: its ESP's, then the kernels of its system's /boot. */
export async function diskBootFiles(
  runner: Runner,
  disk: Pick<DiskImage, 'raw' | 'partitions' | 'fs'>,
): Promise<BootFile[]> {
  const esp = diskEsp(runner, disk.raw, disk.partitions);
  return [...(esp ? await espFiles(esp) : []), ...(await bootKernels(disk.fs))];
}
