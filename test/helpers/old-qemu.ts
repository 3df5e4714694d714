/**
 * Old qemu-img binaries, to prove that a QCOW2 opens where images are consumed: Ubuntu 16.04's
 * qemu-img 2.5 (the oldest the Ubuntu archive still serves) and 20.04's 4.2 (focal, the distro
 * this tool exists for; provisioning ramdisks are often as old). Each is unpacked from the real
 * archive with `mmdebstrap --variant=extract --include=qemu-utils` (the package and the libraries
 * it needs, nothing configured, ~70 MB), kept in TOOLS between runs, and run in a chroot of its
 * own mount namespace with the image's folder bind-mounted at /images (gone with the namespace).
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

/** Where the unpacked trees are kept (not the engine's cache: nothing there may look like an entry). */
export const TOOLS = process.env.IB_NATIVE_TEST_TOOLS ?? '/var/cache/ib-native-test-tools';
export const UBUNTU_ARCHIVE = 'http://archive.ubuntu.com/ubuntu';
export const UBUNTU_KEYRING = '/usr/share/keyrings/ubuntu-archive-keyring.gpg';

export interface OldQemu {
  suite: string;
  release: string;
  /** The major.minor the binary must report. */
  version: string;
}

export const OLD_QEMUS: readonly OldQemu[] = [
  { suite: 'xenial', release: 'Ubuntu 16.04', version: '2.5' },
  { suite: 'focal', release: 'Ubuntu 20.04', version: '4.2' },
];

/** Why the old qemu-img of a suite cannot be had here (then its checks are skipped), or undefined. */
export async function unavailable(q: OldQemu): Promise<string | undefined> {
  if (existsSync(path.join(treeOf(q), '.complete'))) return undefined;
  if (!existsSync(UBUNTU_KEYRING)) return `the Ubuntu archive keyring ${UBUNTU_KEYRING} is missing`;
  const url = `${UBUNTU_ARCHIVE}/dists/${q.suite}/InRelease`;
  try {
    const r = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(20_000) });
    return r.ok ? undefined : `${url} answered ${r.status}`;
  } catch (e) {
    return `${url} does not answer (${(e as Error).message})`;
  }
}

function treeOf(q: OldQemu): string {
  return path.join(TOOLS, `qemu-img-${q.suite}`);
}

/** The unpacked tree of `q`'s qemu-utils, made once (then reused); returns its root. */
export async function oldQemuTree(q: OldQemu): Promise<string> {
  const root = treeOf(q);
  if (existsSync(path.join(root, '.complete'))) return root;
  mkdirSync(TOOLS, { recursive: true });
  const building = `${root}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const r = await execa(
    'mmdebstrap',
    [
      '--variant=extract',
      '--include=qemu-utils',
      `--keyring=${UBUNTU_KEYRING}`,
      '--components=main',
      q.suite,
      building,
      UBUNTU_ARCHIVE,
    ],
    { reject: false, all: true, stdin: 'ignore', timeout: 20 * 60 * 1000 },
  );
  if (r.exitCode !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new Error(`mmdebstrap of ${q.suite}'s qemu-utils failed:\n${String(r.all).slice(-3000)}`);
  }
  mkdirSync(path.join(building, 'images'), { recursive: true });
  writeFileSync(path.join(building, '.complete'), `${new Date().toISOString()}\n`);
  // another run may have finished first: keep one
  if (existsSync(root)) rmSync(building, { recursive: true, force: true });
  else renameSync(building, root);
  return root;
}

export interface OldRun {
  exitCode: number;
  output: string;
}

/**
 * `qemu-img ARGS` of the tree at `root`, with `images` (a folder) at /images: its own mount
 * namespace, so the bind mount ends with it. The paths are arguments of the script, never text.
 */
export async function oldQemuImg(root: string, images: string, args: readonly string[]): Promise<OldRun> {
  const r = await execa(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'mount --bind "$1" "$0/images" && shift && exec chroot "$0" /usr/bin/qemu-img "$@"',
      root,
      images,
      ...args,
    ],
    { reject: false, all: true, stdin: 'ignore', timeout: 30 * 60 * 1000 },
  );
  return { exitCode: r.exitCode ?? -1, output: String(r.all) };
}
