/**
 * Offline, read-only views of what an image ships, for the hygiene test: the QCOW2's root
 * filesystem through debugfs, the ISO's live filesystem through unsquashfs (every squashfs layer
 * stacked in the order of live/filesystem.module, overlayfs whiteouts applied), and the cached
 * rootfs tree on the host. No mounts, no loop devices.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export type EntryType = 'f' | 'd' | 'l' | 'c' | 'b' | 'p' | 's';

export interface Entry {
  type: EntryType;
  /** Permission bits with setuid/setgid/sticky (no file type). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

export interface ImageView {
  name: string;
  /** Absolute paths ('/etc/shadow') to their entries. */
  entries: Map<string, Entry>;
  cat(file: string): Promise<string>;
  /** File capabilities, normalized (see `capsFromText`), or '' when none. */
  caps(file: string): Promise<string>;
}

/** Names under a folder (one level). */
export function children(v: Pick<ImageView, 'entries'>, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return [...v.entries.keys()]
    .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
    .map((p) => p.slice(prefix.length))
    .sort();
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
// ext4 through debugfs

function modeEntry(octal: string, uid: string, gid: string, size: string): Entry {
  const m = Number.parseInt(octal, 8);
  const fmt = m & 0o170000;
  const type: EntryType =
    fmt === 0o040000
      ? 'd'
      : fmt === 0o120000
        ? 'l'
        : fmt === 0o020000
          ? 'c'
          : fmt === 0o060000
            ? 'b'
            : fmt === 0o010000
              ? 'p'
              : fmt === 0o140000
                ? 's'
                : 'f';
  return { type, mode: m & 0o7777, uid: Number(uid), gid: Number(gid), size: Number(size || 0) };
}

/** A view of an ext4 filesystem image (one partition), listed breadth-first with `debugfs -f`. */
export async function ext4View(name: string, image: string, scratch: string): Promise<ImageView> {
  const entries = new Map<string, Entry>([['/', { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 }]]);
  let level = ['/'];
  const tmp = mkdtempSync(path.join(scratch, 'debugfs-'));
  try {
    while (level.length) {
      const cmds = path.join(tmp, 'cmds');
      const quote = (p: string) => `"${p.replace(/(["\\])/g, '\\$1')}"`;
      writeFileSync(cmds, level.map((d) => `ls -p ${quote(d)}\n`).join(''));
      const r = await execa('debugfs', ['-f', cmds, image], { maxBuffer: 512 * 1024 * 1024 });
      const next: string[] = [];
      let dir = '';
      for (const line of r.stdout.split('\n')) {
        const cmd = /^debugfs: ls -p "(.*)"$/.exec(line);
        if (cmd) {
          dir = cmd[1]!.replace(/\\(.)/g, '$1');
          continue;
        }
        const m = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
        if (!m || m[5] === '.' || m[5] === '..') continue;
        const p = dir === '/' ? `/${m[5]}` : `${dir}/${m[5]}`;
        const e = modeEntry(m[2]!, m[3]!, m[4]!, m[6]!);
        entries.set(p, e);
        if (e.type === 'd') next.push(p);
      }
      level = next;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return {
    name,
    entries,
    cat: async (f) => (await execa('debugfs', ['-R', `cat "${f}"`, image])).stdout,
    caps: async (f) => {
      const dir = mkdtempSync(path.join(scratch, 'ea-'));
      try {
        const out = path.join(dir, 'value');
        await execa('debugfs', ['-R', `ea_get -f ${out} "${f}" security.capability`, image]);
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
// squashfs layers through unsquashfs

function modeFromString(s: string): Entry['mode'] {
  const bit = (c: string | undefined, v: number) => (c && c !== '-' && c !== 'S' && c !== 'T' ? v : 0);
  const special = (c: string | undefined, v: number) =>
    c === 's' || c === 'S' || c === 't' || c === 'T' ? v : 0;
  const [, ur, uw, ux, gr, gw, gx, or, ow, ox] = s.split('');
  return (
    bit(ur, 0o400) |
    bit(uw, 0o200) |
    bit(ux, 0o100) |
    bit(gr, 0o040) |
    bit(gw, 0o020) |
    bit(gx, 0o010) |
    bit(or, 0o004) |
    bit(ow, 0o002) |
    bit(ox, 0o001) |
    special(ux, 0o4000) |
    special(gx, 0o2000) |
    special(ox, 0o1000)
  );
}

export interface SquashfsEntry extends Entry {
  /** overlayfs whiteout: a 0/0 character device. */
  whiteout: boolean;
}

/** `unsquashfs -lln` of one squashfs file. */
export async function squashfsListing(file: string): Promise<Map<string, SquashfsEntry>> {
  const r = await execa('unsquashfs', ['-lln', file], { maxBuffer: 512 * 1024 * 1024 });
  const out = new Map<string, SquashfsEntry>();
  for (const line of r.stdout.split('\n')) {
    const m =
      /^([-dlcbps])(\S{9}) (\d+)\/(\d+)\s+(\d+|\d+,\s*\d+) \d{4}-\d\d-\d\d \d\d:\d\d squashfs-root(.*)$/.exec(
        line,
      );
    if (!m) continue;
    const type = (m[1] === '-' ? 'f' : m[1]) as EntryType;
    const name = (type === 'l' ? m[6]!.replace(/ -> .*$/, '') : m[6]!) || '/';
    const dev = /^(\d+),\s*(\d+)$/.exec(m[5]!);
    out.set(name, {
      type,
      mode: modeFromString(m[1]! + m[2]!),
      uid: Number(m[3]),
      gid: Number(m[4]),
      size: dev ? 0 : Number(m[5]),
      whiteout: type === 'c' && dev?.[1] === '0' && dev[2] === '0',
    });
  }
  return out;
}

/** The live filesystem of an ISO: its squashfs layers, bottom first, stacked like overlayfs. */
export async function isoView(
  name: string,
  layers: { file: string; listing: Map<string, SquashfsEntry> }[],
  scratch: string,
): Promise<ImageView> {
  const entries = new Map<string, Entry>();
  const from = new Map<string, string>();
  const dropBelow = (p: string) => {
    for (const k of [...entries.keys()])
      if (k === p || k.startsWith(`${p}/`)) {
        entries.delete(k);
        from.delete(k);
      }
  };
  for (const layer of layers) {
    for (const [p, e] of layer.listing) {
      if (e.whiteout) {
        dropBelow(p);
        continue;
      }
      const below = entries.get(p);
      if (below && (below.type !== 'd' || e.type !== 'd')) dropBelow(p);
      const { whiteout: _w, ...entry } = e;
      entries.set(p, entry);
      from.set(p, layer.file);
    }
  }
  const layerOf = (f: string) => {
    const l = from.get(f);
    if (!l) throw new Error(`${f} is not in ${name}`);
    return l;
  };
  return {
    name,
    entries,
    cat: async (f) => (await execa('unsquashfs', ['-cat', layerOf(f), f])).stdout,
    caps: async (f) => {
      const dir = mkdtempSync(path.join(scratch, 'unsquash-'));
      try {
        const dest = path.join(dir, 'root');
        await execa('unsquashfs', ['-no-progress', '-xattrs', '-d', dest, layerOf(f), f]);
        const r = await execa('getcap', [path.join(dest, f)]);
        return capsFromText(r.stdout.split(' ').slice(1).join(' '));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
