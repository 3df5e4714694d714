// Over 300 lines: one offline reader of a disk image (convert, GPT, blkid, debugfs, mtools) whose steps share the scratch raw file.
/**
 * Reading a produced QCOW2 disk offline: no mount, no loop or nbd device. The disk is converted
 * to a sparse raw file in a scratch folder (`qemu-img convert`), its GPT read with sgdisk and each
 * filesystem probed with blkid at its offset; ext4 filesystems are then read with debugfs through
 * e2fsprogs' `file?offset=N` io option, FAT ones with mtools' `file@@N`. The root filesystem's
 * fstab says which filesystem is mounted where, so that paths resolve as on the booted node
 * (`/boot/grub/grub.cfg` is on the /boot partition).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { debugfsQuote } from '../disk/populate.ts';
import { UserError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';
import { type Entry, isBelow } from './entries.ts';
import {
  type FstabEntry,
  type GptTable,
  parseBlkidExport,
  parseDebugfsLs,
  parseDebugfsStat,
  parseFstab,
  parseMdir,
  parseSgdiskPrint,
} from './parsers.ts';
import { type ImageFs, resolvePath } from './paths.ts';

export interface DiskPartition {
  number: number;
  firstSector: number;
  lastSector: number;
  /** sgdisk type code (8300, EF00, EF02). */
  code: string;
  name: string;
  offset: number;
  bytes: number;
  /** What blkid found: ext4, vfat, xfs…; undefined for none (a bios_grub partition). */
  filesystem?: string;
  uuid?: string;
  label?: string;
  /** Where the image's fstab mounts it. */
  mountpoint?: string;
}

/** A filesystem of the disk, read without mounting it. */
export interface FsReader {
  lstat(p: string): Promise<Entry | undefined>;
  readlink(p: string): Promise<string>;
  read(p: string): Promise<Buffer>;
  list(dir: string): Promise<Map<string, Entry>>;
}

/** A path for a debugfs request line (one quoting rule for making and reading disks). */
export { debugfsQuote };

/** The debugfs device of an ext4 filesystem at `offset` bytes in a raw disk (e2fsprogs' unix io option). */
export function ext4Device(raw: string, offset: number): string {
  return offset ? `${raw}?offset=${offset}` : raw;
}

/** An ext4 filesystem read with debugfs; `device` is an image file, or `ext4Device(raw, offset)`. */
export function ext4Reader(
  runner: Runner,
  device: string,
  scratch: string,
): FsReader & {
  /** Several folders listed in one debugfs run (a whole tree is listed level by level). */
  listMany(dirs: readonly string[]): Promise<Map<string, Map<string, Entry>>>;
} {
  const debugfs = async (request: string, binary = false) =>
    runner.run(['debugfs', '-R', request, device], { binary, context: `debugfs ${request} on ${device}` });
  let batch = 0;
  return {
    async lstat(p) {
      const r = await debugfs(`stat ${debugfsQuote(p)}`);
      return parseDebugfsStat(r.stdout);
    },
    async readlink(p) {
      // a slow link (target over 59 bytes) keeps its target in a data block: dump it
      return (await debugfs(`cat ${debugfsQuote(p)}`, true)).stdoutBytes?.toString() ?? '';
    },
    async read(p) {
      return (await debugfs(`cat ${debugfsQuote(p)}`, true)).stdoutBytes ?? Buffer.alloc(0);
    },
    async list(dir) {
      return parseDebugfsLs((await debugfs(`ls -p ${debugfsQuote(dir)}`)).stdout);
    },
    async listMany(dirs) {
      const cmds = path.join(scratch, `debugfs-${process.pid}-${batch++}.cmds`);
      writeFileSync(cmds, dirs.map((d) => `ls -p ${debugfsQuote(d)}\n`).join(''));
      const r = await runner.run(['debugfs', '-f', cmds, device], {
        context: `listing folders of ${device}`,
      });
      const out = new Map<string, Map<string, Entry>>();
      // debugfs echoes each request as `debugfs: ls -p "DIR"` before its answer
      const sections = r.stdout.split(/^debugfs: ls -p "((?:[^"]|"")*)"$/m);
      for (let i = 1; i < sections.length; i += 2)
        out.set(sections[i]!.replace(/""/g, '"'), parseDebugfsLs(sections[i + 1] ?? ''));
      return out;
    },
  };
}

/** A FAT filesystem at `offset` bytes in `raw`, read with mtools (no vfat mount needed). */
export function fatReader(runner: Runner, raw: string, offset: number): FsReader {
  const image = `${raw}@@${offset}`;
  const env = { MTOOLS_SKIP_CHECK: '1' };
  const list = async (dir: string): Promise<Map<string, Entry> | undefined> => {
    const r = await runner.run(['mdir', '-a', '-i', image, `::${dir}`], { env, okExitCodes: [1] });
    return r.exitCode === 0 ? parseMdir(r.stdout) : undefined;
  };
  return {
    async lstat(p) {
      if (p === '/') return { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 };
      const dir = p.slice(0, p.lastIndexOf('/')) || '/';
      const name = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
      const entries = await list(dir);
      // FAT names are case-insensitive
      return [...(entries ?? [])].find(([n]) => n.toLowerCase() === name)?.[1];
    },
    async readlink() {
      return '';
    },
    async read(p) {
      const r = await runner.run(['mcopy', '-n', '-i', image, `::${p}`, '-'], { env, binary: true });
      return r.stdoutBytes ?? Buffer.alloc(0);
    },
    async list(dir) {
      return (await list(dir)) ?? new Map();
    },
  };
}

/** A filesystem inspect cannot read without mounting it. */
function unreadable(fs: string, mountpoint: string): FsReader {
  const fail = async (): Promise<never> => {
    throw new UserError(
      `the ${fs} filesystem mounted at ${mountpoint} cannot be read without mounting it`,
      'inspect reads ext4 and FAT filesystems; read other paths',
    );
  };
  return { lstat: fail, readlink: fail, read: fail, list: fail };
}

export interface Mount {
  mountpoint: string;
  partition: DiskPartition;
}

/** Which partition each fstab line mounts (pure): by UUID=, LABEL= or /dev/disk/by-{uuid,label}/. */
export function mountsFromFstab(fstab: readonly FstabEntry[], parts: readonly DiskPartition[]): Mount[] {
  const find = (spec: string): DiskPartition | undefined => {
    const m = /^(?:UUID=|\/dev\/disk\/by-uuid\/)(.+)$/.exec(spec);
    if (m) return parts.find((p) => p.uuid?.toLowerCase() === m[1]!.toLowerCase());
    const l = /^(?:LABEL=|\/dev\/disk\/by-label\/)(.+)$/.exec(spec);
    if (l) return parts.find((p) => p.label === l[1]);
    return undefined;
  };
  const out: Mount[] = [];
  for (const e of fstab) {
    if (!e.mountpoint.startsWith('/')) continue;
    const partition = find(e.spec);
    if (partition) out.push({ mountpoint: e.mountpoint, partition });
  }
  return out;
}

/** The mount that holds a path: the longest mountpoint above it (pure). */
export function mountOf(p: string, mounts: readonly Mount[]): { mount: Mount; inner: string } | undefined {
  const m = [...mounts]
    .filter((x) => isBelow(p, x.mountpoint))
    .sort((a, b) => b.mountpoint.length - a.mountpoint.length)[0];
  if (!m) return undefined;
  const rest = m.mountpoint === '/' ? p : p.slice(m.mountpoint.length);
  return { mount: m, inner: rest || '/' };
}

export interface DiskImage {
  /** The raw scratch copy the readers read (inside the scratch folder). */
  raw: string;
  virtualBytes: number;
  table: GptTable;
  partitions: DiskPartition[];
  mounts: Mount[];
  /** The node's filesystem tree, every mount in place. */
  fs: ImageFs;
  /** The root filesystem's ext4 reader (whole-tree listings). */
  root?: ReturnType<typeof ext4Reader>;
}

/** Convert, read the partition table, probe and mount-map a QCOW2, raw, VMDK or VHDX disk; `scratch` holds the raw copy. */
export async function openDisk(runner: Runner, image: string, scratch: string): Promise<DiskImage> {
  const info = JSON.parse(
    (await runner.run(['qemu-img', 'info', '--output=json', image], { context: `reading ${image}` })).stdout,
  ) as { format: string; 'virtual-size': number };
  const raw = path.join(scratch, 'disk.raw');
  // sparse: only the blocks that hold data take space
  await runner.run(['qemu-img', 'convert', '-f', info.format, '-O', 'raw', image, raw], {
    context: `converting ${image} to a raw scratch copy`,
  });
  const table = parseSgdiskPrint(
    (await runner.run(['sgdisk', '--print', raw], { context: `reading the partition table of ${image}` }))
      .stdout,
  );
  if (!table.partitions.length)
    throw new UserError(`${image} has no GPT partition table`, 'inspect reads disks made by ib-native build');
  const partitions: DiskPartition[] = [];
  for (const p of table.partitions) {
    const offset = p.firstSector * table.sectorSize;
    const bytes = (p.lastSector - p.firstSector + 1) * table.sectorSize;
    // exit code 2: nothing found (a bios_grub partition)
    const r = await runner.run(
      ['blkid', '-p', '-o', 'export', '-O', String(offset), '-S', String(bytes), raw],
      {
        okExitCodes: [2],
      },
    );
    const id = parseBlkidExport(r.stdout);
    partitions.push({
      ...p,
      offset,
      bytes,
      ...(id.TYPE && { filesystem: id.TYPE }),
      ...(id.UUID && { uuid: id.UUID }),
      ...(id.LABEL && { label: id.LABEL }),
    });
  }
  const readers = new Map<number, FsReader>();
  const readerOf = (p: DiskPartition, mountpoint: string): FsReader => {
    let r = readers.get(p.number);
    if (!r) {
      r =
        p.filesystem === 'ext4' || p.filesystem === 'ext3' || p.filesystem === 'ext2'
          ? ext4Reader(runner, ext4Device(raw, p.offset), scratch)
          : p.filesystem === 'vfat'
            ? fatReader(runner, raw, p.offset)
            : unreadable(p.filesystem ?? 'unknown', mountpoint);
      readers.set(p.number, r);
    }
    return r;
  };
  // the root filesystem: the ext4 one whose fstab mounts it at /
  let mounts: Mount[] = [];
  for (const p of partitions.filter((x) => x.filesystem?.startsWith('ext'))) {
    const reader = readerOf(p, '/');
    const found = await resolvePath('/etc/fstab', reader.lstat, reader.readlink);
    if (!found.found) continue;
    const fstab = parseFstab((await reader.read(found.path)).toString());
    const candidate = mountsFromFstab(fstab, partitions);
    if (candidate.some((m) => m.mountpoint === '/' && m.partition.number === p.number)) {
      mounts = candidate;
      break;
    }
  }
  if (!mounts.length) {
    const first = partitions.find((x) => x.filesystem?.startsWith('ext'));
    if (!first)
      throw new UserError(
        `${image} has no ext4 root filesystem`,
        'inspect reads disks made by ib-native build',
      );
    mounts = [{ mountpoint: '/', partition: first }];
  }
  for (const m of mounts) m.partition.mountpoint = m.mountpoint;
  const at = (p: string) => {
    const m = mountOf(p, mounts);
    if (!m) throw new Error(`no filesystem holds ${p}`);
    return { reader: readerOf(m.mount.partition, m.mount.mountpoint), inner: m.inner };
  };
  // a lookup walks every folder above a path: ask each tool once per path
  const seen = new Map<string, Promise<Entry | undefined>>();
  const fs: ImageFs = {
    lstat: (p) => {
      const known = seen.get(p);
      if (known) return known;
      const { reader, inner } = at(p);
      const e = reader.lstat(inner);
      seen.set(p, e);
      return e;
    },
    readlink: (p) => {
      const { reader, inner } = at(p);
      return reader.readlink(inner);
    },
    read: (p) => {
      const { reader, inner } = at(p);
      return reader.read(inner);
    },
    list: async (dir) => {
      const { reader, inner } = at(dir);
      const out = await reader.list(inner);
      // a mountpoint shows the mounted filesystem's root
      for (const m of mounts)
        if (m.mountpoint !== '/' && path.posix.dirname(m.mountpoint) === dir) {
          const root = await at(m.mountpoint).reader.lstat('/');
          if (root) out.set(path.posix.basename(m.mountpoint), root);
        }
      return out;
    },
  };
  const rootPart = mounts.find((m) => m.mountpoint === '/')!.partition;
  const rootReader = readerOf(rootPart, '/');
  return {
    raw,
    virtualBytes: info['virtual-size'],
    table,
    partitions,
    mounts,
    fs,
    ...('listMany' in rootReader && { root: rootReader as ReturnType<typeof ext4Reader> }),
  };
}
