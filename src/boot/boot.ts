// Over 300 lines: one boot from its checks to its cleanup, shared by `boot` and `boot --console`.
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { withDir } from 'tmp-promise';
import { realProbe } from '../doctor.ts';
import { InterruptedError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type Runner, tail } from '../run/runner.ts';
import { kvmUsable } from '../sys/kvm.ts';
import { BootFailedError, BootTimeoutError, watchConsole } from './console.ts';
import {
  type Accel,
  cpuModel,
  createOverlay,
  detectImageKind,
  type FirmwareKind,
  type FirmwareSpec,
  findSecureBootFirmware,
  findUefiFirmware,
  firmwareOf,
  type ImageKind,
  type LongProcess,
  qemuArgs,
  type SpawnLong,
  spawnLong,
} from './qemu.ts';
import { SECURE_BOOT_FAILURES } from './refusals.ts';
import { buildSeedIso } from './seed.ts';

/**
 * `ib-native boot`: boot an image in QEMU on a throw-away overlay and wait for the login prompt on
 * the serial console. QEMU is always killed and the temporary files removed, whatever happens.
 */

export interface BootOptions {
  image: string;
  /** Default: from the file's magic bytes. */
  kind?: ImageKind;
  /** Default bios (SeaBIOS); uefi with `secureBoot`. */
  firmware?: FirmwareKind;
  /** UEFI with Secure Boot enforced (`findSecureBootFirmware`); a refused loader fails the boot at once. */
  secureBoot?: boolean;
  /** Default 300 (the original's acceptance test). */
  timeoutSec?: number;
  /** NoCloud seed folder (user-data, meta-data, network-config); attached as a `cidata` ISO. */
  seedDir?: string;
  /** Strings that must appear on the console besides the login prompt. */
  expect?: readonly string[];
  memoryMiB?: number;
  smp?: number;
  /** Write the raw serial console here, as it arrives. */
  consoleLog?: string;
  logger: Logger;
  /** Stop waiting (interruption). */
  signal?: AbortSignal;
  /** Told every second while waiting for the console: seconds waited, and the timeout. */
  onWait?: (seconds: number, timeoutSec: number) => void;
  /** Default: KVM when /dev/kvm is usable. */
  kvm?: boolean;
  /** Parent of the temporary folder (overlay, seed, UEFI variables); default the OS temp dir. */
  tmpDir?: string;
  /** For tests. */
  spawn?: SpawnLong;
  /** For tests: the UEFI firmware files instead of looking them up (with `secureBoot`: its build). */
  uefi?: { code: string; vars?: string };
}

export interface BootResult {
  /** Seconds from starting QEMU to the login prompt (and every expected string). */
  seconds: number;
  /** The cleaned serial console. */
  console: string;
}

/** The promise's value, or undefined after ms; the timer never keeps the process alive. */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** KVM is used when the device is there and QEMU can start a machine on it (asked once per process). */
const kvmHere = (): boolean => realProbe.hasKvm() && kvmUsable().usable;

/** The accelerator and CPU model a boot here runs on, as the benchmarks record them with their figures. */
export const bootMachineHere = (): string => {
  const accel = kvmHere() ? 'kvm' : 'tcg';
  return `${accel}, -cpu ${cpuModel(accel)}`;
};

/** Signals with which QEMU itself crashes (TCG has been seen to segfault), as opposed to being stopped. */
const CRASH_SIGNALS = ['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGABRT', 'SIGFPE'];

/** The signal of an emulator crash a boot may be retried after (pure), else undefined. */
export function emulatorCrash(e: unknown): string | undefined {
  const s = e instanceof BootFailedError ? e.crashSignal : undefined;
  return s && CRASH_SIGNALS.includes(s) ? s : undefined;
}

/**
 * Boots the image until `login:` (and every expected string). When QEMU itself crashes, the boot
 * says so and starts once more from a fresh overlay: the image was not at fault. A crash under KVM
 * (a nested hypervisor that refuses the host CPU's registers aborts QEMU at start) boots once more
 * with TCG emulation instead.
 */
export async function bootImage(runner: Runner, opts: BootOptions): Promise<BootResult> {
  firmwareOf(opts);
  const kvm = opts.kvm ?? kvmHere();
  try {
    return await bootOnce(runner, { ...opts, kvm });
  } catch (e) {
    const signal = emulatorCrash(e);
    if (!signal || opts.signal?.aborted) throw e;
    opts.logger.warn(
      kvm
        ? `QEMU crashed (${signal}) under KVM (${firstLine(e)}): this host's KVM cannot run the machine, booting once more with TCG emulation (slow)`
        : `QEMU crashed (${signal}), a fault of the emulator, not of the image: booting once more`,
    );
    return await bootOnce(runner, { ...opts, kvm: false });
  }
}

/** The first line of what QEMU said before it crashed, for the warning. */
function firstLine(e: unknown): string {
  const said = e instanceof BootFailedError ? e.qemuStderr : undefined;
  return (
    said
      ?.split('\n')
      .find((l) => l.trim())
      ?.trim() ?? 'no message'
  );
}

async function bootOnce(runner: Runner, opts: BootOptions): Promise<BootResult> {
  const { logger } = opts;
  const timeoutSec = opts.timeoutSec ?? 300;
  const waitFor = ['login:', ...(opts.expect ?? [])].map((s) => JSON.stringify(s)).join(', ');
  const announce = (q: QemuSetup) =>
    logger.info(
      `booting ${q.image} (${q.kind}, ${q.firmwareKind}${q.secureBoot ? ' with Secure Boot enforced' : ''}, ${q.accel === 'kvm' ? 'KVM' : 'TCG emulation: no KVM, slow'}); ` +
        `waiting up to ${timeoutSec} s for ${waitFor}`,
    );
  return withQemu(runner, opts, { announce }, async (q) => {
    const waitStart = Date.now();
    const onWait = opts.onWait;
    const ticker = onWait
      ? setInterval(() => onWait((Date.now() - waitStart) / 1000, timeoutSec), 1000)
      : undefined;
    try {
      const result = await watchConsole(q.qemu.stdout, {
        expect: opts.expect ?? [],
        timeoutMs: timeoutSec * 1000,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(q.secureBoot ? { failOn: SECURE_BOOT_FAILURES } : {}),
      });
      logger.info(`reached the login prompt in ${result.seconds.toFixed(1)} s`);
      return result;
    } catch (e) {
      if (opts.signal?.aborted) throw new InterruptedError(abortReason(opts.signal.reason));
      throw await explain(e, q.qemu, q.stderr, opts.consoleLog, q.accel);
    } finally {
      clearInterval(ticker);
    }
  });
}

/** What withQemu decided and started. */
export interface QemuSetup {
  image: string;
  kind: ImageKind;
  firmwareKind: FirmwareKind;
  secureBoot: boolean;
  accel: Accel;
  argv: string[];
}

export interface QemuSession extends QemuSetup {
  qemu: LongProcess;
  /** The last 8 KiB QEMU wrote to stderr. */
  stderr: () => string;
}

/**
 * Checks the image, makes the throw-away files (overlay, seed, UEFI variables) in a temporary
 * folder, starts QEMU with its serial console on stdout (and stdin when `interactive`) and hands it
 * to `fn`. QEMU is always killed and the temporary files removed when `fn` settles.
 */
export async function withQemu<T>(
  runner: Runner,
  opts: BootOptions,
  how: { announce: (q: QemuSetup) => void; interactive?: boolean },
  fn: (q: QemuSession) => Promise<T>,
): Promise<T> {
  const { logger } = opts;
  const firmwareKind = firmwareOf(opts);
  const image = resolve(opts.image);
  if (!existsSync(image)) {
    throw new UserError(
      `image not found: ${image}`,
      'build it with `ib-native build`, or pass an existing .iso, .qcow2, .img, .vmdk or .vhdx',
    );
  }
  if (opts.seedDir && !existsSync(opts.seedDir))
    throw new UserError(`seed folder not found: ${opts.seedDir}`);
  const kind = opts.kind ?? detectImageKind(image);
  const secureBoot = opts.secureBoot === true;
  const accel: Accel = (opts.kvm ?? kvmHere()) ? 'kvm' : 'tcg';
  const find = secureBoot ? findSecureBootFirmware : findUefiFirmware;
  const uefi = firmwareKind === 'uefi' ? (opts.uefi ?? find()) : undefined;

  // the overlay, the UEFI variables and the seed: a private folder removed with all in it at the end
  return withDir(
    async ({ path: tmp }) => {
      let qemu: LongProcess | undefined;
      let log: WriteStream | undefined;
      let stderr = '';
      try {
        let firmware: FirmwareSpec = { type: 'bios' };
        if (uefi) {
          firmware = { type: 'uefi', code: uefi.code, ...(secureBoot ? { secureBoot } : {}) };
          if (uefi.vars) {
            firmware.vars = join(tmp, 'OVMF_VARS.fd');
            await copyFile(uefi.vars, firmware.vars);
          }
        }
        // a disk boots through a throw-away overlay; the ISO and a pxe folder are only read
        const disk = kind === 'iso' || kind === 'pxe' ? image : await createOverlay(runner, image, tmp, kind);
        const seedIso = opts.seedDir
          ? await buildSeedIso(runner, opts.seedDir, join(tmp, 'seed.iso'))
          : undefined;
        const argv = qemuArgs({
          kind,
          disk,
          firmware,
          accel,
          ...(opts.memoryMiB ? { memoryMiB: opts.memoryMiB } : {}),
          ...(opts.smp ? { smp: opts.smp } : {}),
          ...(seedIso ? { seedIso } : {}),
        });
        const setup: QemuSetup = { image, kind, firmwareKind, secureBoot, accel, argv };
        how.announce(setup);
        if (opts.consoleLog) {
          await mkdir(dirname(resolve(opts.consoleLog)), { recursive: true });
          log = createWriteStream(opts.consoleLog);
          log.on('error', (e) =>
            logger.warn(`cannot write the console log ${opts.consoleLog}: ${e.message}`),
          );
        }
        qemu = (opts.spawn ?? spawnLong)(argv, logger, { stdin: Boolean(how.interactive) });
        qemu.stderr.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-8192);
        });
        const toLog = log;
        if (toLog) qemu.stdout.on('data', (d: Buffer) => toLog.write(d));
        return await fn({ ...setup, qemu, stderr: () => stderr });
      } finally {
        if (qemu) {
          qemu.kill('SIGKILL');
          await within(qemu.exited, 5000);
        }
        if (log) {
          const l = log;
          await new Promise<void>((r) => l.end(r));
        }
      }
    },
    { tmpdir: opts.tmpDir, prefix: 'ib-native-boot-', unsafeCleanup: true },
  );
}

export function abortReason(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'a signal';
}

/** Adds what QEMU said and where the console is to a failed wait. */
async function explain(
  e: unknown,
  qemu: LongProcess,
  stderr: () => string,
  consoleLog: string | undefined,
  accel: Accel,
): Promise<unknown> {
  const where = consoleLog
    ? `the whole console is in ${consoleLog}`
    : 'pass a console log file to keep the whole console';
  if (e instanceof BootTimeoutError) {
    e.hint = `${where}${accel === 'tcg' ? '; without KVM a boot is slow: raise the timeout if the console was still progressing' : ''}`;
    return e;
  }
  if (e instanceof BootFailedError && e.reason) {
    e.hint = [e.hint, where].filter(Boolean).join('; '); // a console line told why; QEMU still runs
    return e;
  }
  if (e instanceof BootFailedError) {
    // The console closes when QEMU exits: say how it exited and what it printed.
    const exit = await within(qemu.exited, 2000);
    const how = !exit
      ? 'QEMU stopped its console'
      : exit.signal
        ? `QEMU was killed by ${exit.signal}`
        : `QEMU exited with code ${exit.exitCode}`;
    const said = stderr().trim() ? `\n--- QEMU's messages ---\n${tail(stderr(), 10)}` : '';
    const err = new BootFailedError(
      `${how} while waiting for ${e.pending.join(', ')}${said}`,
      e.consoleTail,
      e.console,
      e.pending,
      `${where}; -no-reboot makes QEMU exit when the guest reboots or panics`,
    );
    if (exit?.signal) err.crashSignal = exit.signal;
    err.qemuStderr = tail(stderr(), 10);
    return err;
  }
  return e;
}
