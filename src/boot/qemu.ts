import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { type ImageFileKind, imageKindOfExtension, imageKindOfHead, MAGIC_BYTES } from '../disk/magic.ts';
import { HostNotReadyError, InternalError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Runner } from '../run/runner.ts';
import { PXE_FILES, PXE_SUFFIX } from '../sys/pxe-layout.ts';
import { OVMF_PACKAGE, SECURE_BOOT_OVMF } from './ovmf.ts';

export { BootFailedError, BootTimeoutError } from './console.ts';

/**
 * QEMU for the boot check: the argv (pure), the UEFI firmware lookup, the throw-away overlay, and the
 * one long-running process ib-native starts outside the Runner (QEMU runs until we kill it).
 */

export type ImageKind = ImageFileKind | 'pxe';
export type FirmwareKind = 'bios' | 'uefi';
export type Accel = 'kvm' | 'tcg';

/**
 * SeaBIOS (QEMU's default), or OVMF: one combined file, or code plus a writable copy of the variables.
 * `secureBoot`: the code is OVMF's Secure Boot build and the variables enroll the keys; the machine
 * gets SMM and a secure flash, without which that code aborts (it needs `vars`).
 */
export type FirmwareSpec =
  | { type: 'bios' }
  | { type: 'uefi'; code: string; vars?: string; secureBoot?: boolean };

export interface QemuArgsOptions {
  kind: ImageKind;
  /** The ISO, for a disk the throw-away QCOW2 overlay (never the image itself), for pxe the artifact folder (served read-only). */
  disk: string;
  firmware: FirmwareSpec;
  accel: Accel;
  /** Default 2048. */
  memoryMiB?: number;
  /** Default 2. */
  smp?: number;
  /** NoCloud seed ISO, attached as a read-only virtio disk. */
  seedIso?: string;
}

export const QEMU = 'qemu-system-x86_64';

/**
 * The CPU model without KVM: QEMU's `max` less ERMS. With ERMS the guest kernel clears and copies
 * pages with `rep stosb`/`rep movsb`, which TCG steps through one byte at a time, and Debian's and
 * Ubuntu's kernels clear every page they allocate (`init_on_alloc`). A live ISO's first reads
 * (overlay on squashfs on a loop device on iso9660) fill enough page cache to spend ~40 s in
 * `clear_page_erms` before systemd starts; without ERMS the kernel clears with `rep stosq` and the
 * same ISO reaches `login:` in 76 s instead of 131 s (README, Benchmark). KVM runs `-cpu host`.
 */
export const TCG_CPU = 'max,-erms';

/** The -cpu value for an accelerator (pure). */
export const cpuModel = (accel: Accel): string => (accel === 'kvm' ? 'host' : TCG_CPU);

/** Commas in -drive option values are doubled. */
const driveValue = (path: string) => path.replace(/,/g, ',,');

export function qemuArgs(o: QemuArgsOptions): string[] {
  const secureBoot = o.firmware.type === 'uefi' && o.firmware.secureBoot === true;
  const argv = [QEMU, '-name', 'ib-native-boot', '-machine', secureBoot ? 'q35,smm=on' : 'q35'];
  argv.push('-accel', o.accel, '-cpu', cpuModel(o.accel));
  argv.push('-m', String(o.memoryMiB ?? 2048), '-smp', String(o.smp ?? 2));
  // The serial console on stdout, nothing graphical, no monitor; exit instead of rebooting.
  argv.push('-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot');
  argv.push('-nic', o.kind === 'pxe' ? pxeNic(o.disk) : 'user,model=virtio-net-pci');
  if (o.firmware.type === 'uefi') {
    if (secureBoot) {
      if (!o.firmware.vars) throw new InternalError('Secure Boot firmware needs its variables file');
      argv.push(...SECURE_BOOT_MACHINE);
    }
    if (o.firmware.vars) {
      argv.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${driveValue(o.firmware.code)}`);
      argv.push('-drive', `if=pflash,format=raw,unit=1,file=${driveValue(o.firmware.vars)}`);
    } else {
      argv.push('-bios', o.firmware.code);
    }
  }
  if (o.kind === 'pxe') argv.push(...PXE_BOOT);
  else if (o.kind === 'iso') argv.push('-cdrom', o.disk, '-boot', 'order=d');
  else argv.push('-drive', `file=${driveValue(o.disk)},if=virtio,format=qcow2`, '-boot', 'order=c');
  if (o.seedIso) argv.push('-drive', `file=${driveValue(o.seedIso)},if=virtio,format=raw,readonly=on`);
  return argv;
}

/**
 * The netboot NIC: QEMU's user networking serves `folder` read-only over its built-in TFTP
 * server (10.0.2.2, also the DHCP next-server) and names the iPXE script as the DHCP boot file.
 * The virtio NIC's option ROM (efi-virtio.rom of ipxe-qemu: iPXE, legacy PXE and EFI in one)
 * runs it under SeaBIOS and OVMF alike. No network outside QEMU is needed.
 */
export function pxeNic(folder: string): string {
  if (!folder.startsWith('/')) throw new InternalError(`pxeNic needs an absolute path, got ${folder}`);
  return `user,model=virtio-net-pci,tftp=${driveValue(folder)},bootfile=${PXE_FILES.script}`;
}

/** Boot from the network first (SeaBIOS; OVMF reaches the NIC once the empty drives failed). */
export const PXE_BOOT: readonly string[] = ['-boot', 'n'];

/** The firmware a boot uses: `secureBoot` means UEFI, and cannot go with BIOS (a UserError). Pure. */
export function firmwareOf(o: {
  firmware?: FirmwareKind | undefined;
  secureBoot?: boolean | undefined;
}): FirmwareKind {
  if (!o.secureBoot) return o.firmware ?? 'bios';
  if (o.firmware === 'bios')
    throw new UserError(
      '--secure-boot cannot go with --firmware bios: Secure Boot is a UEFI feature',
      'drop --firmware bios (--secure-boot boots with UEFI firmware)',
    );
  return 'uefi';
}

/**
 * What OVMF's Secure Boot code needs of the machine besides SMM (`-machine q35,smm=on`): only
 * SMM code may write the flash holding the variables, so the guest cannot turn Secure Boot off.
 * S3 (suspend to RAM) off: recommended with OVMF's SMM build, and a boot check never suspends.
 */
export const SECURE_BOOT_MACHINE: readonly string[] = [
  '-global',
  'driver=cfi.pflash01,property=secure,value=on',
  '-global',
  'ICH9-LPC.disable_s3=1',
];

/** Where Debian and Ubuntu put OVMF, best first. */
export const OVMF_CANDIDATES: readonly { code: string; vars?: string }[] = [
  { code: '/usr/share/ovmf/OVMF.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  { code: '/usr/share/qemu/OVMF.fd' },
];

/**
 * The UEFI firmware on this host. A `vars` file is a template: copy it before use, QEMU writes to it.
 */
export function findUefiFirmware(exists: (path: string) => boolean = existsSync): {
  code: string;
  vars?: string;
} {
  const found = OVMF_CANDIDATES.find((c) => exists(c.code) && (!c.vars || exists(c.vars)));
  if (!found) {
    throw new UserError(
      `UEFI firmware (OVMF) not found; looked for ${OVMF_CANDIDATES.map((c) => c.code).join(', ')}`,
      'install it with: apt-get install ovmf (or boot with BIOS firmware)',
    );
  }
  return found;
}

/**
 * OVMF's Secure Boot build on this host: the code (needs SMM) and the template of variables with
 * Microsoft's keys enrolled and Secure Boot on (copy it before use, QEMU writes to it). Missing:
 * a HostNotReadyError (exit 5) naming the package.
 */
export function findSecureBootFirmware(exists: (path: string) => boolean = existsSync): {
  code: string;
  vars: string;
} {
  const found = SECURE_BOOT_OVMF.find((c) => exists(c.code) && exists(c.vars));
  if (!found) {
    throw new HostNotReadyError(
      `Secure Boot firmware (OVMF) not found; looked for ${SECURE_BOOT_OVMF.map((c) => `${c.code} with ${c.vars}`).join(', or ')}`,
      `install it with: apt-get install ${OVMF_PACKAGE} (or boot without --secure-boot)`,
    );
  }
  return { ...found };
}

/** A pxe artifact: a folder holding its boot script. */
function isPxeFolder(path: string): boolean {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return false;
  if (existsSync(join(path, PXE_FILES.script))) return true;
  throw new UserError(
    `${path} is a folder without ${PXE_FILES.script}`,
    `boot an .iso, a disk image or a ${PXE_SUFFIX} folder built by ib-native`,
  );
}

/**
 * ISO, QCOW2, raw, VMDK or VHDX, from the file's magic bytes (falling back on its extension);
 * pxe for a folder with its boot script.
 */
export function detectImageKind(path: string): ImageKind {
  if (isPxeFolder(path)) return 'pxe';
  const head = Buffer.alloc(MAGIC_BYTES);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new UserError(`cannot read the image ${path}: ${(e as Error).message}`);
  }
  const kind = imageKindOfHead(head.subarray(0, n)) ?? imageKindOfExtension(extname(path));
  if (kind) return kind;
  throw new UserError(
    `${path} is neither an ISO 9660 image nor a disk image (QCOW2, raw with a partition table, VMDK, VHDX)`,
    'boot an .iso, .qcow2, .img, .vmdk or .vhdx built by ib-native',
  );
}

/** Creates a throw-away QCOW2 overlay on top of the disk image, so booting never changes the image. */
export async function createOverlay(
  runner: Runner,
  absImage: string,
  dir: string,
  backingFormat: Exclude<ImageKind, 'iso' | 'pxe'> = 'qcow2',
): Promise<string> {
  if (!absImage.startsWith('/'))
    throw new InternalError(`createOverlay needs an absolute path, got ${absImage}`);
  const overlay = join(dir, 'overlay.qcow2');
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', '-F', backingFormat, '-b', absImage, overlay], {
    context: 'create a throw-away overlay for the boot check',
  });
  return overlay;
}

/** A process that runs until killed (QEMU). */
export interface LongProcess {
  readonly pid: number | undefined;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The serial console's input, when started with `stdin: true` (`boot --console`). */
  readonly stdin?: Writable;
  /** Settles when the process has exited; never rejects. */
  readonly exited: Promise<{ exitCode?: number; signal?: string }>;
  /** Signals the whole process group. */
  kill(signal?: NodeJS.Signals): void;
}

export type SpawnLong = (argv: readonly string[], logger: Logger, o?: { stdin?: boolean }) => LongProcess;

/**
 * Starts a long-running command in its own process group, stdin closed (a pipe with `stdin: true`),
 * locale fixed, with PR_SET_PDEATHSIG (setpriv) so it dies if ib-native dies. The caller must kill() it.
 */
export const spawnLong: SpawnLong = (argv, logger, o = {}) => {
  const [file, ...args] = existsSync('/usr/bin/setpriv')
    ? ['setpriv', '--pdeathsig', 'KILL', '--', ...argv]
    : argv;
  logger.debug(`$ ${argv.join(' ')}   (long-running)`);
  const child = execa(file!, args, {
    env: { LC_ALL: 'C.UTF-8' },
    extendEnv: true,
    stdin: o.stdin ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    detached: true,
    stripFinalNewline: false,
  });
  const exited = child.then(
    (r) => ({
      ...(typeof r.exitCode === 'number' ? { exitCode: r.exitCode } : {}),
      ...(r.signal ? { signal: r.signal } : {}),
    }),
    () => ({}),
  );
  // writing to a QEMU that just exited must not crash ib-native
  child.stdin?.on('error', (e) => logger.debug(`console input: ${e.message}`));
  return {
    pid: child.pid,
    ...(child.stdin ? { stdin: child.stdin } : {}),
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill(signal = 'SIGKILL') {
      if (!child.pid) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    },
  };
};
