/** The `ib-native boot` engine: boot an image in QEMU and wait for the login prompt. */
export { type BootOptions, type BootResult, bootImage } from './boot.ts';
export {
  BootFailedError,
  BootTimeoutError,
  cleanConsole,
  consoleCleaner,
  type WatchConsoleOptions,
  type WatchResult,
  watchConsole,
} from './console.ts';
export {
  type Accel,
  createOverlay,
  detectImageKind,
  type FirmwareKind,
  type FirmwareSpec,
  findSecureBootFirmware,
  findUefiFirmware,
  firmwareOf,
  type ImageKind,
  type LongProcess,
  type QemuArgsOptions,
  qemuArgs,
  type SpawnLong,
  spawnLong,
} from './qemu.ts';
export {
  type BootFailureReason,
  type ConsoleFailure,
  consoleFailure,
  SECURE_BOOT_FAILURES,
} from './refusals.ts';
export { buildSeedIso, defaultMetaData, seedIsoArgs } from './seed.ts';
