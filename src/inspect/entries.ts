/**
 * What the offline image readers (src/inspect/) know about one path of an image: its type, mode
 * bits, owner, size and, for a symbolic link, its target. Pure helpers shared by the readers.
 */

export type EntryType = 'f' | 'd' | 'l' | 'c' | 'b' | 'p' | 's';

export interface Entry {
  type: EntryType;
  /** Permission bits with setuid/setgid/sticky (no file type). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** A symbolic link's target, when the reader knows it without another look. */
  target?: string;
}

/** The type of a `st_mode` value (file type bits). */
export function typeOfMode(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'd';
    case 0o120000:
      return 'l';
    case 0o020000:
      return 'c';
    case 0o060000:
      return 'b';
    case 0o010000:
      return 'p';
    case 0o140000:
      return 's';
    default:
      return 'f';
  }
}

/** An entry from an octal `st_mode` and numeric owner and size, as debugfs prints them. */
export function entryFromMode(
  octal: string,
  uid: string | number,
  gid: string | number,
  size: string | number,
): Entry {
  const m = Number.parseInt(octal, 8);
  return {
    type: typeOfMode(m),
    mode: m & 0o7777,
    uid: Number(uid),
    gid: Number(gid),
    size: Number(size || 0),
  };
}

/** Permission bits of an `ls -l` mode string (`-rwsr-xr-x`, `drwxrwxrwt`). */
export function modeFromString(s: string): number {
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

/** Whether `p` is `dir` or below it (absolute paths). */
export function isBelow(p: string, dir: string): boolean {
  if (dir === '/') return true;
  return p === dir || p.startsWith(`${dir}/`);
}

/** Names directly under a folder of an entry map, sorted. */
export function childrenOf(entries: ReadonlyMap<string, unknown>, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return [...entries.keys()]
    .filter((p) => p !== '/' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
    .map((p) => p.slice(prefix.length))
    .sort();
}
