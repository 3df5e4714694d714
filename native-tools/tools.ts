/**
 * Every host tool the build and the boot check need: what it is for, which stages need it, and
 * which package provides it. Pure data; src/doctor.ts checks it, install.sh installs it.
 */

/**
 * The parts of ib-native that need host tools. `iso` is the live family's (ISO, PXE), `qcow2` the
 * disk family's (every disk format), `tar` the root filesystem tarball's; `inspect` is `ib-native inspect` (reading built
 * images offline); `install` is `npm ci` compiling node-pty's native part (interactive shells and
 * consoles); `test` is only the test suite (local apt repo, proxy).
 */
export const STAGES = [
  'rootfs',
  'configure',
  'iso',
  'qcow2',
  'tar',
  'boot',
  'inspect',
  'install',
  'test',
] as const;
export type Stage = (typeof STAGES)[number];

import { OVMF_PACKAGE, SECURE_BOOT_OVMF } from '../src/boot/ovmf.ts';
import { FORMAT_INFO, type Format } from '../src/profile/formats.ts';

export const BOOTSTRAPPERS = ['debootstrap', 'mmdebstrap'] as const;
export type Bootstrapper = (typeof BOOTSTRAPPERS)[number];
const PREFER_MMDEBSTRAP = true;

/**
 * mmdebstrap when installed, else debootstrap: on an idle host mmdebstrap made the benchmark's
 * rootfs 11 % faster through the engine (214.7 s against 240.5 s; README "Benchmark"). Under heavy
 * load the order was reversed, so PREFER_MMDEBSTRAP stays a switch a later measurement can flip.
 * Pure: `have` says whether a command is installed.
 */
export function preferredBootstrapper(have: (cmd: string) => boolean): Bootstrapper {
  return PREFER_MMDEBSTRAP && have('mmdebstrap') ? 'mmdebstrap' : 'debootstrap';
}

export type HostFamily = 'debian' | 'ubuntu';

export interface HostTool {
  /** What the user sees: a command name, or a short name for a file or folder. */
  readonly name: string;
  /** How to find it: a command on PATH, any one of these paths existing, or every path of any one set. */
  readonly check:
    | { readonly command: string }
    | { readonly anyPath: readonly string[] }
    | { readonly anyPathSet: readonly (readonly string[])[] };
  /** Completes "which is required to …". */
  readonly neededFor: string;
  readonly stages: readonly Stage[];
  readonly packages: { readonly debian: string; readonly ubuntu: string };
  /** Reported, never fatal: something else does the job when it is missing. */
  readonly optional?: boolean;
  /** What is used instead when this optional tool is missing. */
  readonly fallback?: string;
  /** Required only when this bootstrapper is chosen (otherwise an optional alternative). */
  readonly bootstrapper?: Bootstrapper;
}

const pkg = (debian: string, ubuntu = debian) => ({ debian, ubuntu });
const cmd = (command: string) => ({ command });

export const HOST_TOOLS: readonly HostTool[] = [
  // root filesystem
  {
    name: 'debootstrap',
    check: cmd('debootstrap'),
    neededFor: 'bootstrap the root filesystem',
    stages: ['rootfs'],
    packages: pkg('debootstrap'),
    bootstrapper: 'debootstrap',
  },
  {
    name: 'mmdebstrap',
    check: cmd('mmdebstrap'),
    neededFor: 'bootstrap the root filesystem faster (alternative to debootstrap)',
    stages: ['rootfs'],
    packages: pkg('mmdebstrap'),
    bootstrapper: 'mmdebstrap',
  },
  {
    name: 'chroot',
    check: cmd('chroot'),
    neededFor: 'run apt and scripts inside the image',
    stages: ['rootfs', 'configure'],
    packages: pkg('coreutils'),
  },
  {
    name: 'unshare',
    check: cmd('unshare'),
    neededFor: 'isolate the chroot in its own mount and PID namespaces',
    stages: ['rootfs', 'configure'],
    packages: pkg('util-linux'),
  },
  {
    name: 'mount',
    check: cmd('mount'),
    neededFor: 'mount /proc, /sys, /dev and image partitions',
    stages: ['rootfs', 'configure', 'qcow2'],
    packages: pkg('mount'),
  },
  {
    name: 'umount',
    check: cmd('umount'),
    neededFor: 'unmount what the build mounted',
    stages: ['rootfs', 'configure', 'qcow2'],
    packages: pkg('mount'),
  },
  {
    name: 'rsync',
    check: cmd('rsync'),
    neededFor: 'copy the root tree into the disk image keeping hard links, ACLs and xattrs',
    stages: ['qcow2'],
    packages: pkg('rsync'),
  },
  {
    name: 'setpriv',
    check: cmd('setpriv'),
    neededFor: 'make child processes die with ib-native',
    stages: ['rootfs', 'configure', 'iso', 'qcow2', 'boot'],
    packages: pkg('util-linux'),
  },
  {
    name: 'sha256sum',
    check: cmd('sha256sum'),
    neededFor: 'checksum the images',
    stages: ['iso', 'qcow2'],
    packages: pkg('coreutils'),
  },
  {
    name: 'skopeo',
    check: cmd('skopeo'),
    neededFor:
      'pull and push stage cache entries from and to an OCI registry (build --cache-from/--cache-to)',
    stages: ['rootfs'],
    packages: pkg('skopeo'),
    optional: true,
    fallback:
      'build --cache-from/--cache-to stop before any work (exit 5); builds without them are not affected',
  },
  // live ISO
  {
    name: 'mksquashfs',
    check: cmd('mksquashfs'),
    neededFor: 'create the squashfs of the live ISO',
    stages: ['iso'],
    packages: pkg('squashfs-tools'),
  },
  {
    name: 'tar',
    check: cmd('tar'),
    neededFor:
      "find the opaque folders of the ISO's configuration layers (GNU tar reads their xattrs); write the tar output",
    stages: ['iso', 'tar'],
    packages: pkg('tar'),
  },
  {
    name: 'unsquashfs',
    check: cmd('unsquashfs'),
    neededFor: 'verify the squashfs of the live ISO',
    stages: ['iso', 'inspect'],
    packages: pkg('squashfs-tools'),
  },
  {
    name: 'xorriso',
    check: cmd('xorriso'),
    neededFor: 'write the hybrid BIOS/UEFI ISO and the cloud-init seed ISO',
    stages: ['iso', 'boot', 'inspect'],
    packages: pkg('xorriso'),
  },
  {
    name: 'grub-mkstandalone',
    check: cmd('grub-mkstandalone'),
    neededFor: 'build the standalone GRUB images of the live ISO',
    stages: ['iso'],
    packages: pkg('grub-common'),
  },
  {
    name: 'grub-mkimage',
    check: cmd('grub-mkimage'),
    neededFor: 'build the GRUB core image',
    stages: ['iso'],
    packages: pkg('grub-common'),
  },
  {
    name: 'grub i386-pc modules',
    check: { anyPath: ['/usr/lib/grub/i386-pc'] },
    neededFor: 'make the ISO boot with BIOS',
    stages: ['iso'],
    packages: pkg('grub-pc-bin'),
  },
  {
    name: 'grub x86_64-efi modules',
    check: { anyPath: ['/usr/lib/grub/x86_64-efi'] },
    neededFor: 'make the ISO boot with UEFI',
    stages: ['iso'],
    packages: pkg('grub-efi-amd64-bin'),
  },
  {
    name: 'mkfs.vfat',
    check: cmd('mkfs.vfat'),
    neededFor: 'create FAT file systems (the ISO EFI image, the EFI system partition)',
    stages: ['iso', 'qcow2'],
    packages: pkg('dosfstools'),
  },
  {
    name: 'mcopy',
    check: cmd('mcopy'),
    neededFor: 'fill FAT images without mounting them',
    stages: ['iso', 'qcow2', 'inspect'],
    packages: pkg('mtools'),
  },
  {
    name: 'mmd',
    check: cmd('mmd'),
    neededFor: 'create folders in FAT images without mounting them',
    stages: ['iso', 'qcow2'],
    packages: pkg('mtools'),
  },
  // QCOW2
  {
    name: 'qemu-img',
    check: cmd('qemu-img'),
    neededFor: 'create and convert QCOW2 images',
    stages: ['qcow2', 'boot', 'inspect'],
    packages: pkg('qemu-utils'),
  },
  {
    name: 'qemu-nbd',
    check: cmd('qemu-nbd'),
    neededFor: 'attach QCOW2 images as block devices',
    stages: ['qcow2'],
    packages: pkg('qemu-utils'),
    optional: true,
    fallback: 'a raw image on a loop device',
  },
  {
    name: 'losetup',
    check: cmd('losetup'),
    neededFor: 'attach the raw disk image as a loop device',
    stages: ['qcow2'],
    packages: pkg('mount'),
  },
  {
    name: 'partx',
    check: cmd('partx'),
    neededFor: 'create the partition devices of the loop device',
    stages: ['qcow2'],
    packages: pkg('util-linux'),
  },
  {
    name: 'sgdisk',
    check: cmd('sgdisk'),
    neededFor: 'partition the disk image (GPT)',
    stages: ['qcow2', 'inspect'],
    packages: pkg('gdisk'),
  },
  {
    name: 'mkfs.ext4',
    check: cmd('mkfs.ext4'),
    neededFor: 'create the ext4 root and /boot file systems',
    stages: ['qcow2'],
    packages: pkg('e2fsprogs'),
  },
  {
    name: 'mkfs.xfs',
    check: cmd('mkfs.xfs'),
    neededFor: 'create xfs partitions',
    stages: ['qcow2'],
    packages: pkg('xfsprogs'),
    optional: true,
    fallback: 'nothing: only profiles with xfs partitions need it',
  },
  {
    name: 'blkid',
    check: cmd('blkid'),
    neededFor: 'read partition UUIDs for fstab and grub',
    stages: ['qcow2', 'inspect'],
    packages: pkg('util-linux'),
  },
  {
    name: 'zstd',
    check: cmd('zstd'),
    neededFor: 'compress and unpack the cached root filesystem; compress the tar output',
    stages: ['rootfs', 'tar'],
    packages: pkg('zstd'),
  },
  // inspect (reading built images offline)
  {
    name: 'sqfs2tar',
    check: cmd('sqfs2tar'),
    neededFor: "read the xattrs of the ISO's overlay layers (which folders are opaque) for ib-native inspect",
    stages: ['inspect'],
    packages: pkg('squashfs-tools-ng'),
  },
  {
    name: 'debugfs',
    check: cmd('debugfs'),
    neededFor: 'read ext4 filesystems of a disk image without mounting them (ib-native inspect)',
    stages: ['inspect'],
    packages: pkg('e2fsprogs'),
  },
  {
    name: 'mdir',
    check: cmd('mdir'),
    neededFor: 'list FAT filesystems without mounting them (ib-native inspect)',
    stages: ['inspect'],
    packages: pkg('mtools'),
  },
  // boot check
  {
    name: 'qemu-system-x86_64',
    check: cmd('qemu-system-x86_64'),
    neededFor: 'boot the images to check that they reach the login prompt',
    stages: ['boot'],
    packages: pkg('qemu-system-x86'),
  },
  {
    name: 'OVMF firmware',
    check: {
      anyPath: ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd'],
    },
    neededFor: 'boot the images with UEFI',
    stages: ['boot'],
    packages: pkg('ovmf'),
  },
  {
    name: 'OVMF Secure Boot firmware',
    // the code that enforces Secure Boot and its variables with Microsoft's keys: both or nothing
    check: { anyPathSet: SECURE_BOOT_OVMF.map((c) => [c.code, c.vars]) },
    neededFor: 'boot the images with UEFI Secure Boot enforced (boot --secure-boot)',
    stages: ['boot'],
    packages: pkg(OVMF_PACKAGE),
    optional: true,
    fallback: 'boot --secure-boot stops (exit 5); other boots are not affected',
  },
  // npm ci: node-gyp compiles node-pty (ib-native shell, build --debug-shell, boot --console)
  {
    name: 'python3',
    check: cmd('python3'),
    neededFor: 'run node-gyp, which compiles node-pty during npm ci',
    stages: ['install'],
    packages: pkg('python3'),
  },
  {
    name: 'make',
    check: cmd('make'),
    neededFor: 'compile node-pty during npm ci',
    stages: ['install'],
    packages: pkg('make'),
  },
  {
    name: 'g++',
    check: cmd('g++'),
    neededFor: 'compile node-pty during npm ci',
    stages: ['install'],
    packages: pkg('g++'),
  },
  // test suite only
  {
    name: 'squid',
    check: cmd('squid'),
    neededFor: 'run the HTTP proxy of the proxy tests',
    stages: ['test'],
    packages: pkg('squid'),
  },
  {
    name: 'apt-ftparchive',
    check: cmd('apt-ftparchive'),
    neededFor: 'index the local apt repository of the tests',
    stages: ['test'],
    packages: pkg('apt-utils'),
  },
  {
    name: 'dpkg-deb',
    check: cmd('dpkg-deb'),
    neededFor: 'build the packages of the local apt repository of the tests',
    stages: ['test'],
    packages: pkg('dpkg'),
  },
  {
    name: 'docker-registry',
    check: cmd('docker-registry'),
    neededFor: 'serve the OCI registry of the remote cache tests (CNCF Distribution)',
    stages: ['test'],
    packages: pkg('docker-registry'),
  },
  {
    name: 'gpg',
    check: cmd('gpg'),
    neededFor: 'sign the local apt repository of the tests',
    stages: ['test'],
    packages: pkg('gnupg'),
  },
];

/** Stages a build needs: the root filesystem and its configuration, then each output format. */
export function stagesFor(opts: {
  formats?: readonly Format[];
  boot?: boolean;
  /** `ib-native inspect` (the tests use its readers too). */
  inspect?: boolean;
  forTests?: boolean;
}): Stage[] {
  const formats = opts.formats ?? (['iso', 'qcow2'] as const);
  const stages: Stage[] = ['rootfs', 'configure', ...new Set(formats.map((f) => FORMAT_INFO[f].tools))];
  if (opts.boot || opts.forTests) stages.push('boot');
  if (opts.inspect || opts.forTests) stages.push('inspect');
  if (opts.forTests) stages.push('test');
  return stages;
}

/**
 * Whether a tool is required for these stages: optional tools never are, a bootstrapper only when
 * chosen. Returns undefined when no selected stage uses it at all.
 */
export function requirement(
  tool: HostTool,
  stages: readonly Stage[],
  bootstrapper: Bootstrapper = 'debootstrap',
): 'required' | 'optional' | undefined {
  if (!tool.stages.some((s) => stages.includes(s))) return undefined;
  if (tool.optional) return 'optional';
  if (tool.bootstrapper && tool.bootstrapper !== bootstrapper) return 'optional';
  return 'required';
}

/**
 * Packages that install.sh puts on a host: every tool of the build and the boot check (optional ones
 * included, they are small), plus the test-only tools when asked. Sorted, without duplicates.
 */
export function hostPackages(family: HostFamily, opts: { withTests?: boolean } = {}): string[] {
  const wanted = HOST_TOOLS.filter((t) => opts.withTests || !t.stages.every((s) => s === 'test'));
  return [...new Set(wanted.map((t) => t.packages[family]))].sort();
}
