import {
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { mountsUnder } from './mounts.ts';

/**
 * Paths inside an image tree, touched from the host. The tree is not trusted (packages and
 * profiles put links in it: `/var/run -> /run`, merged-usr `/bin -> usr/bin`, or a hostile
 * `/etc/x -> /etc/shadow`), so a path is resolved the way the kernel would inside a chroot of it
 * (links followed inside the root, `..` clamped at the root), and files are created and changed
 * without ever following a link on the host.
 */

/** Folders a chroot session mounts over (the session's own /proc, /sys, /dev and /run). */
export const SESSION_MOUNTS = ['/dev', '/proc', '/sys', '/run'] as const;

/** The session mount an absolute in-image path is at or under, if any. Pure. */
export function sessionMountOf(imagePath: string): string | undefined {
  const p = path.posix.normalize(`/${imagePath}`);
  return SESSION_MOUNTS.find((m) => p === m || p.startsWith(`${m}/`));
}

export interface ResolveOptions {
  /** Follow a link at the last path part too (inside the root). Default: the link itself is named. */
  follow?: boolean;
  lstat?: (p: string) => { isSymbolicLink(): boolean };
  readlink?: (p: string) => string;
}

/**
 * Resolve an absolute in-image path to its in-image form (no links but maybe the last part,
 * no `.` or `..`), following links the way the kernel would inside a chroot of `root`: an
 * absolute target starts again at the root, `..` never climbs above it. Missing parts are kept
 * as named. Pure but for `lstat`/`readlink`.
 */
export function resolveImagePath(root: string, imagePath: string, o: ResolveOptions = {}): string {
  const lstat = o.lstat ?? lstatSync;
  const readlink = o.readlink ?? ((p: string) => readlinkSync(p, 'utf8'));
  let cur: string[] = [];
  let hops = 0;
  const queue = imagePath.split('/').filter(Boolean);
  while (queue.length) {
    const part = queue.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      cur.pop();
      continue;
    }
    // the last part of the whole path is named, not followed (unless asked)
    if (queue.length === 0 && !o.follow) {
      cur.push(part);
      break;
    }
    const host = path.join(root, ...cur, part);
    let isLink = false;
    try {
      isLink = lstat(host).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (!isLink) {
      cur.push(part);
      continue;
    }
    if (++hops > 40) throw new UserError(`too many symbolic links resolving ${imagePath} in the image`);
    const target = String(readlink(host));
    if (target.startsWith('/')) cur = [];
    queue.unshift(...target.split('/').filter(Boolean));
  }
  return `/${cur.join('/')}`;
}

/** The host path of an in-image path, resolved inside the root (see resolveImagePath). */
export function resolveInRoot(root: string, imagePath: string, o: ResolveOptions = {}): string {
  return hostPathOf(root, resolveImagePath(root, imagePath, o));
}

function hostPathOf(root: string, image: string): string {
  return image === '/' ? path.normalize(root) : path.join(root, image);
}

function lstatOrUndefined(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * One in-image path, resolved once: `image` (its in-image form), `host` (where it is on the
 * host); operations on it never follow a link at the last part on the host.
 */
export class ImagePath {
  readonly image: string;
  readonly host: string;
  constructor(
    readonly root: string,
    readonly requested: string,
    follow = false,
  ) {
    this.image = resolveImagePath(root, requested, { follow });
    this.host = hostPathOf(root, this.image);
    const mount = sessionMountOf(this.image);
    if (mount)
      throw new UserError(
        `${requested} is ${this.image === requested ? '' : `(through a link: ${this.image}) `}under ${mount} in the image`,
        `${mount} is the build session's own file system, not part of the image; name a path outside /dev, /proc, /sys and /run`,
      );
  }

  /** Make the parent folders (each missing part, inside the root: the parent is resolved already). */
  parents(): void {
    mkdirSync(path.dirname(this.host), { recursive: true });
  }

  stat() {
    return lstatOrUndefined(this.host);
  }

  /**
   * Write a file: created under a fresh name in the parent (O_EXCL: never through a link), its
   * mode set on the open file, then renamed over the path (a link there is replaced, not followed).
   */
  write(content: string | Buffer, mode: number): void {
    this.place((tmp) => {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        const data = typeof content === 'string' ? Buffer.from(content) : content;
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off);
        fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
    });
  }

  /** Copy a host file into place the same way as write(). */
  copyFrom(source: string, mode: number): void {
    this.place((tmp) => {
      copyFileSync(source, tmp, constants.COPYFILE_EXCL);
      this.chmodPlain(tmp, mode);
    });
  }

  private place(make: (tmp: string) => void): void {
    this.parents();
    const tmp = path.join(path.dirname(this.host), `.${path.basename(this.host)}.ib-native-${process.pid}`);
    rmSync(tmp, { force: true });
    try {
      make(tmp);
      const old = this.stat();
      if (old?.isDirectory())
        throw new UserError(
          `${this.requested} is a folder in the image`,
          'remove it first, or name a file path',
        );
      renameSync(tmp, this.host);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Change the mode of what is at the path, never through a link: a link there is refused (there
   * is no lchmod on Linux), a file or folder is changed through a descriptor opened O_NOFOLLOW.
   */
  chmod(mode: number): void {
    const st = this.stat();
    if (!st) throw new UserError(`${this.requested} does not exist in the image`);
    if (st.isSymbolicLink())
      throw new UserError(
        `${this.requested} is a symbolic link in the image (-> ${readlinkSync(this.host, 'utf8')}); its mode cannot be set`,
        'name the real path the link points to',
      );
    this.chmodPlain(this.host, mode);
  }

  private chmodPlain(p: string, mode: number): void {
    const st = lstatSync(p);
    if (!st.isFile() && !st.isDirectory()) {
      // a fifo, socket or device node: not opened (that could block or act); checked just before
      if (st.isSymbolicLink())
        throw new UserError(`${this.requested}: a link appeared while changing its mode`);
      throw new UserError(
        `${this.requested} is not a file or folder in the image`,
        'only files and folders get modes',
      );
    }
    const flags =
      constants.O_RDONLY |
      constants.O_NOFOLLOW |
      constants.O_NONBLOCK |
      (st.isDirectory() ? constants.O_DIRECTORY : 0);
    const fd = openSync(p, flags);
    try {
      const now = fstatSync(fd);
      if (now.ino !== st.ino || now.dev !== st.dev)
        throw new UserError(`${this.requested} changed while its mode was being set`);
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Make the folder (and its parents). A link at the last part is followed inside the root when
   * nothing is to be changed on it (`mkdir -p` of an existing folder); with a mode it is refused.
   */
  mkdir(mode: number | undefined): ImagePath {
    const st = this.stat();
    if (st?.isSymbolicLink()) {
      if (mode !== undefined)
        throw new UserError(
          `${this.requested} is a symbolic link in the image (-> ${readlinkSync(this.host, 'utf8')}); its mode cannot be set`,
          'name the real folder the link points to',
        );
      const real = new ImagePath(this.root, this.requested, true);
      return real.mkdir(undefined);
    }
    if (st && !st.isDirectory())
      throw new UserError(`${this.requested} exists in the image and is not a folder`);
    mkdirSync(this.host, { recursive: true });
    if (mode !== undefined) this.chmod(mode);
    return this;
  }

  /** Remove what is at the path (a link itself, not its target), never across a mount. */
  remove(): void {
    const mounted = mountsUnder(this.host);
    if (mounted.length)
      throw new UserError(
        `refusing to remove ${this.requested}: something is mounted at or below it (${mounted.join(', ')})`,
      );
    rmSync(this.host, { force: true, recursive: true });
  }
}
