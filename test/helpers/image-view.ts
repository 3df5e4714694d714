/**
 * Offline, read-only views of what an image ships, for the hygiene test: every path with its
 * type, mode and owner, file contents and file capabilities. The QCOW2's root filesystem and the
 * ISO's live filesystem (every squashfs layer stacked in the order of live/filesystem.module,
 * overlayfs whiteouts and opaque folders applied) come from the readers of `ib-native inspect`
 * (src/inspect/); the cached rootfs tree is read on the host. No mounts, no loop devices.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { DiskImage } from '../../src/inspect/disk.ts';
import { childrenOf, type Entry, type EntryType } from '../../src/inspect/entries.ts';
import { type IsoImage, unsquashfsPattern } from '../../src/inspect/iso.ts';
import { catText } from './image.ts';

export type { Entry, EntryType };

export interface ImageView {
  name: string;
  /** Absolute paths ('/etc/shadow') to their entries. */
  entries: ReadonlyMap<string, Entry>;
  cat(file: string): Promise<string>;
  /** File capabilities, normalized (see `capsFromText`), or '' when none. */
  caps(file: string): Promise<string>;
}

/** Names under a folder (one level). */
export function children(v: Pick<ImageView, 'entries'>, dir: string): string[] {
  return childrenOf(v.entries, dir);
}

// ---------------------------------------------------------------------------------------------
// capabilities

const CAP_NAMES = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
].map((n) => `cap_${n}`);

/** Normal form: `cap_x=eip cap_y=p`, sorted by name, flags sorted. */
function normalCaps(m: Map<string, Set<string>>): string {
  return [...m.entries()]
    .filter(([, f]) => f.size)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([n, f]) => `${n}=${[...f].sort().join('')}`)
    .join(' ');
}

/** getcap's text (`cap_net_admin,cap_net_raw=ep cap_x+i`) in normal form. */
export function capsFromText(text: string): string {
  const m = new Map<string, Set<string>>();
  for (const clause of text.trim().split(/\s+/).filter(Boolean)) {
    const [names = '', ...ops] = clause.split(/(?=[=+-])/);
    for (const op of ops) {
      const flags = op.slice(1).split('');
      for (const n of names.split(',')) {
        const set = m.get(n) ?? new Set<string>();
        if (op[0] === '=') set.clear();
        for (const f of flags) op[0] === '-' ? set.delete(f) : set.add(f);
        m.set(n, set);
      }
    }
  }
  return normalCaps(m);
}

/** The raw `security.capability` value (struct vfs_cap_data, revisions 1-3) in normal form. */
export function capsFromXattr(b: Buffer): string {
  if (b.length < 12) return '';
  const magic = b.readUInt32LE(0);
  const words = (magic & 0xff000000) >>> 0 === 0x01000000 ? 1 : 2;
  const effective = (magic & 1) === 1;
  const m = new Map<string, Set<string>>();
  for (let w = 0; w < words; w++) {
    const permitted = b.readUInt32LE(4 + w * 8);
    const inheritable = b.readUInt32LE(8 + w * 8);
    for (let bit = 0; bit < 32; bit++) {
      const name = CAP_NAMES[w * 32 + bit] ?? `cap_${w * 32 + bit}`;
      const set = new Set<string>();
      if (permitted & (1 << bit)) set.add('p');
      if (inheritable & (1 << bit)) set.add('i');
      // libcap: the effective flag raises every permitted and inheritable capability
      if (set.size && effective) set.add('e');
      if (set.size) m.set(name, set);
    }
  }
  return normalCaps(m);
}

// ---------------------------------------------------------------------------------------------
// the cached rootfs on the host

export async function hostTreeView(root: string): Promise<ImageView> {
  const entries = new Map<string, Entry>();
  const walk = (rel: string) => {
    const s = lstatSync(path.join(root, rel));
    const type: EntryType = s.isDirectory()
      ? 'd'
      : s.isSymbolicLink()
        ? 'l'
        : s.isCharacterDevice()
          ? 'c'
          : s.isBlockDevice()
            ? 'b'
            : s.isFIFO()
              ? 'p'
              : s.isSocket()
                ? 's'
                : 'f';
    entries.set(rel || '/', { type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size });
    if (type === 'd') for (const n of readdirSync(path.join(root, rel))) walk(`${rel}/${n}`);
  };
  walk('');
  return {
    name: `rootfs ${root}`,
    entries,
    cat: async (f) => readFileSync(path.join(root, f), 'utf8'),
    caps: async (f) =>
      capsFromText((await execa('getcap', [path.join(root, f)])).stdout.split(' ').slice(1).join(' ')),
  };
}

/** Every file with capabilities under a host tree, normal form. */
export async function hostTreeCaps(root: string): Promise<Map<string, string>> {
  const r = await execa('getcap', ['-r', root], { reject: false });
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [file = '', ...caps] = line.split(' ');
    out.set(`/${path.relative(root, file)}`, capsFromText(caps.join(' ')));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the QCOW2's root filesystem

/** The root filesystem of a disk (see helpers/image.ts `withDisk`), listed level by level with debugfs. */
export async function ext4View(name: string, disk: DiskImage): Promise<ImageView> {
  const root = disk.root;
  const rootPart = disk.mounts.find((m) => m.mountpoint === '/')?.partition;
  if (!root || !rootPart) throw new Error(`${name}: no ext4 root filesystem`);
  const entries = new Map<string, Entry>([['/', (await root.lstat('/'))!]]);
  let level = ['/'];
  while (level.length) {
    const next: string[] = [];
    for (const [dir, names] of await root.listMany(level))
      for (const [n, e] of names) {
        const p = dir === '/' ? `/${n}` : `${dir}/${n}`;
        entries.set(p, e);
        if (e.type === 'd') next.push(p);
      }
    level = next;
  }
  const device = `${disk.raw}?offset=${rootPart.offset}`;
  return {
    name,
    entries,
    cat: (f) => catText(disk.fs, f),
    caps: async (f) => {
      const dir = mkdtempSync(path.join(path.dirname(disk.raw), 'ea-'));
      try {
        const out = path.join(dir, 'value');
        await execa('debugfs', ['-R', `ea_get -f ${out} "${f}" security.capability`, device]);
        try {
          return capsFromXattr(readFileSync(out));
        } catch {
          return '';
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the ISO's live filesystem

/** The merged live filesystem of an ISO (see helpers/image.ts `readIso`). */
export function isoView(name: string, iso: IsoImage, scratch: string): ImageView {
  return {
    name,
    entries: iso.view.entries,
    cat: (f) => catText(iso.fs, f),
    caps: async (f) => {
      const e = iso.view.entries.get(f);
      if (!e) throw new Error(`${f} is not in ${name}`);
      const { source } = iso.layers[e.layer]!;
      const dir = mkdtempSync(path.join(scratch, 'unsquash-'));
      try {
        const dest = path.join(dir, 'root');
        await execa('unsquashfs', [
          '-no-progress',
          '-xattrs',
          '-o',
          String(source.offset),
          '-d',
          dest,
          source.file,
          unsquashfsPattern(f),
        ]);
        const r = await execa('getcap', [path.join(dest, f)]);
        return capsFromText(r.stdout.split(' ').slice(1).join(' '));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
