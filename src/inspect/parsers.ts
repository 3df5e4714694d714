/**
 * Parsers for what the offline image readers get back from tools and files (pure): grub.cfg menu
 * entries, fstab, `sgdisk --print`, `blkid -o export`, `xorriso -exec report_lba`, debugfs.
 */
import { type Entry, entryFromMode } from './entries.ts';

export interface GrubEntry {
  title: string;
  kernel: string;
  initrd?: string;
  /** The kernel command line, token by token. */
  cmdline: string[];
}

/** Unquote a grub word ('a b', "a b", a\ b). */
function grubWords(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|((?:[^\s'"\\]|\\.)+)/g;
  let cur = '';
  let last = -1;
  for (const m of line.matchAll(re)) {
    const word = m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!.replace(/\\(.)/g, '$1');
    // adjacent pieces ('a'b) form one word
    if (m.index === last) cur += word;
    else {
      if (last >= 0) out.push(cur);
      cur = word;
    }
    last = m.index + m[0].length;
  }
  if (last >= 0) out.push(cur);
  return out;
}

/** The menu entries of a grub.cfg with their kernel, initrd and command line. */
export function parseGrubCfg(text: string): GrubEntry[] {
  const out: GrubEntry[] = [];
  let current: GrubEntry | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const words = grubWords(line);
    const [cmd, ...args] = words;
    if (cmd === 'menuentry') {
      current = { title: args[0] ?? '', kernel: '', cmdline: [] };
      out.push(current);
    } else if (current && /^linux(16|efi)?$/.test(cmd ?? '')) {
      current.kernel = args[0] ?? '';
      current.cmdline = args.slice(1);
    } else if (current && /^initrd(16|efi)?$/.test(cmd ?? '')) current.initrd = args.join(' ');
    else if (cmd === '}') current = undefined;
  }
  return out;
}

export interface FstabEntry {
  spec: string;
  mountpoint: string;
  type: string;
  options: string;
}

/** fstab lines (octal escapes such as \040 decoded). */
export function parseFstab(text: string): FstabEntry[] {
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([spec, mountpoint, type, options]) => ({
      spec: decode(spec!),
      mountpoint: decode(mountpoint!),
      type: type!,
      options: options ?? 'defaults',
    }));
}

export interface GptPartition {
  number: number;
  firstSector: number;
  /** Inclusive. */
  lastSector: number;
  /** sgdisk's type code: 8300 (Linux filesystem), EF00 (EFI system), EF02 (BIOS boot)… */
  code: string;
  name: string;
}

export interface GptTable {
  sectors: number;
  sectorSize: number;
  diskGuid: string;
  partitions: GptPartition[];
}

/** `sgdisk --print` output. */
export function parseSgdiskPrint(text: string): GptTable {
  const sectors = Number(/^Disk .*: (\d+) sectors/m.exec(text)?.[1] ?? 0);
  const sectorSize = Number(/^Sector size \(logical(?:\/physical)?\): (\d+)/m.exec(text)?.[1] ?? 512);
  const diskGuid = /^Disk identifier \(GUID\): (\S+)/m.exec(text)?.[1] ?? '';
  const partitions: GptPartition[] = [];
  for (const m of text.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+ \S+\s+([0-9A-F]{4})\s*(.*)$/gm))
    partitions.push({
      number: Number(m[1]),
      firstSector: Number(m[2]),
      lastSector: Number(m[3]),
      code: m[4]!,
      name: m[5]!.trim(),
    });
  return { sectors, sectorSize, diskGuid, partitions };
}

/** GPT type codes sgdisk prints, in words. */
export const GPT_CODES: Record<string, string> = {
  '8300': 'Linux filesystem',
  '8200': 'Linux swap',
  '8E00': 'Linux LVM',
  EF00: 'EFI system partition',
  EF02: 'BIOS boot partition',
};

/** `blkid -o export` output (KEY=value lines). */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  }
  return out;
}

export interface IsoExtent {
  path: string;
  /** Byte offset of the extent in the ISO file. */
  offset: number;
  bytes: number;
}

/** `xorriso -find / -exec report_lba --` lines: each file's extents (a file of 4 GiB or more has several). */
export function parseReportLba(text: string): Map<string, IsoExtent[]> {
  const out = new Map<string, IsoExtent[]>();
  for (const m of text.matchAll(
    /^File data lba:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*'(.*)'\s*$/gm,
  )) {
    const p = m[5]!.replace(/'"'"'/g, "'");
    const list = out.get(p) ?? [];
    list[Number(m[1])] = { path: p, offset: Number(m[2]) * 2048, bytes: Number(m[4]) };
    out.set(p, list);
  }
  return out;
}

/** debugfs `ls -p` lines (`/inode/mode/uid/gid/name/size/`): names to entries, without `.` and `..`. */
export function parseDebugfsLs(text: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const line of text.split('\n')) {
    const m = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    if (!m || m[5] === '.' || m[5] === '..' || m[1] === '0') continue;
    out.set(m[5]!, entryFromMode(m[2]!, m[3]!, m[4]!, m[6]!));
  }
  return out;
}

/** debugfs `stat` output: the entry, with a fast symlink's target; undefined when it says the file is not there. */
export function parseDebugfsStat(text: string): Entry | undefined {
  const mode = /Mode:\s+(\d+)/.exec(text)?.[1];
  const type = /Type:\s+(\S+)/.exec(text)?.[1];
  if (!mode || !type) return undefined;
  const typeBits: Record<string, string> = {
    regular: '10',
    directory: '4',
    symlink: '12',
    character: '2',
    block: '6',
    FIFO: '1',
    socket: '14',
  };
  const uid = /User:\s+(\d+)/.exec(text)?.[1] ?? '0';
  const gid = /Group:\s+(\d+)/.exec(text)?.[1] ?? '0';
  const size = /Size:\s+(\d+)/.exec(text)?.[1] ?? '0';
  const e = entryFromMode(`${typeBits[type] ?? '10'}${mode.padStart(4, '0').slice(-4)}`, uid, gid, size);
  const fast = /Fast link dest: "(.*)"$/m.exec(text)?.[1];
  return fast !== undefined ? { ...e, target: fast } : e;
}

/** `mdir -a` lines of one FAT folder: names (the long name when there is one) to entries. */
export function parseMdir(text: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S*)\s+(<DIR>|\d+)\s+\d{4}-\d\d-\d\d\s+\d+:\d\d\s*(.*)$/.exec(line);
    if (!m) continue;
    const short = m[2] ? `${m[1]}.${m[2]}` : m[1]!;
    const name = m[4]!.trim() || short;
    if (name === '.' || name === '..') continue;
    const dir = m[3] === '<DIR>';
    out.set(name, {
      type: dir ? 'd' : 'f',
      mode: dir ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      size: dir ? 0 : Number(m[3]),
    });
  }
  return out;
}
