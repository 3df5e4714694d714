import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HostNotReadyError, UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Runner } from '../run/runner.ts';
import { pidAlive } from './pid.ts';

/**
 * Attaching a raw disk image as a block device with partitions: loop (default here) or
 * qemu-nbd (when the nbd module is available). Attachments are recorded on disk so that a
 * build killed with SIGKILL has them detached by the next run (`sweepStaleAttachments`).
 */
export type BlockDeviceKind = 'loop' | 'nbd';

export interface Attached {
  readonly kind: BlockDeviceKind;
  readonly device: string;
  partition(n: number): string;
  detach(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function partitionPath(device: string, n: number): string {
  return /\d$/.test(device) ? `${device}p${n}` : `${device}${n}`;
}

export function nbdAvailable(): boolean {
  return existsSync('/sys/module/nbd') || existsSync('/dev/nbd0');
}

export function chooseBlockDevice(
  forced: BlockDeviceKind | undefined,
  haveNbd = nbdAvailable(),
): BlockDeviceKind {
  if (forced === 'nbd' && !haveNbd)
    throw new HostNotReadyError(
      '--block-device nbd asked for, but the nbd kernel module is not available',
      'run `modprobe nbd max_part=16` or use --block-device loop',
    );
  return forced ?? (haveNbd ? 'nbd' : 'loop');
}

/** A free nbd device: one whose /sys/block/nbdN/pid does not exist (never guessed from a digit). */
export function freeNbdDevice(sysBlock = '/sys/block'): string | undefined {
  const names = existsSync(sysBlock) ? readdirSync(sysBlock).filter((n) => /^nbd\d+$/.test(n)) : [];
  names.sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  const free = names.find((n) => !existsSync(path.join(sysBlock, n, 'pid')));
  return free ? `/dev/${free}` : undefined;
}

async function waitFor(paths: string[], timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (paths.every((p) => existsSync(p))) return true;
    await sleep(100);
  }
  return paths.every((p) => existsSync(p));
}

interface Record_ {
  pid: number;
  kind: BlockDeviceKind;
  device: string;
  image: string;
}

export async function attach(
  runner: Runner,
  image: string,
  partitions: number,
  kind: BlockDeviceKind,
  registryDir: string,
): Promise<Attached> {
  mkdirSync(registryDir, { recursive: true });
  let device: string;
  if (kind === 'loop') {
    // critical: a losetup killed midway could attach a device without telling us its name
    device = (
      await runner.run(['losetup', '--find', '--show', '--partscan', image], { critical: true })
    ).stdout.trim();
  } else {
    const dev = freeNbdDevice();
    if (!dev)
      throw new UserError(
        'no free /dev/nbdN device',
        'detach one with `qemu-nbd --disconnect /dev/nbdN` or use --block-device loop',
      );
    await runner.run(['qemu-nbd', '--format=raw', `--connect=${dev}`, image], { critical: true });
    device = dev;
  }
  const recordFile = path.join(registryDir, `${process.pid}-${path.basename(device)}.json`);
  writeFileSync(recordFile, JSON.stringify({ pid: process.pid, kind, device, image } satisfies Record_));
  const detach = async () => {
    await detachDevice(runner, kind, device);
    rmSync(recordFile, { force: true });
  };
  try {
    const parts = Array.from({ length: partitions }, (_, i) => partitionPath(device, i + 1));
    if (!(await waitFor(parts, 1500))) {
      // losetup -P does not always create the nodes (no udev); partx asks the kernel directly.
      await runner.run(['partx', '--add', device], { okExitCodes: [1] });
      if (!(await waitFor(parts, 10000)))
        throw new UserError(
          `partition devices of ${device} did not appear`,
          'check that the kernel supports partitioned loop devices (max_part)',
        );
    }
  } catch (e) {
    await detach();
    throw e;
  }
  return { kind, device, partition: (n) => partitionPath(device, n), detach };
}

async function detachDevice(runner: Runner, kind: BlockDeviceKind, device: string): Promise<void> {
  if (kind === 'loop') {
    await runner
      .run(['partx', '--delete', device], { okExitCodes: [1], critical: true })
      .catch(() => undefined);
    await runner.run(['losetup', '--detach', device], { retries: 3, retryDelayMs: 300, critical: true });
  } else {
    await runner.run(['qemu-nbd', '--disconnect', device], { retries: 3, retryDelayMs: 300, critical: true });
  }
}

/** Detach devices recorded by builds that died without cleaning up. */
export async function sweepStaleAttachments(
  runner: Runner,
  registryDir: string,
  logger: Logger,
): Promise<number> {
  if (!existsSync(registryDir)) return 0;
  let n = 0;
  for (const f of readdirSync(registryDir)) {
    const file = path.join(registryDir, f);
    let rec: Record_;
    try {
      rec = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    if (pidAlive(rec.pid) && rec.pid !== process.pid) continue;
    const back = backingFile(rec.device);
    if (rec.kind === 'nbd' || (back && path.resolve(back) === path.resolve(rec.image))) {
      logger.warn(`detaching ${rec.device} left attached by a killed build (pid ${rec.pid})`);
      await detachDevice(runner, rec.kind, rec.device).catch(() => undefined);
      n++;
    }
    rmSync(file, { force: true });
  }
  return n;
}

export function backingFile(device: string): string | undefined {
  const f = `/sys/block/${path.basename(device)}/loop/backing_file`;
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .trim()
        .replace(/ \(deleted\)$/, '')
    : undefined;
}

/** Loop devices whose backing file lies under a folder (for tests and `doctor`). */
export function loopsUnder(dir: string): string[] {
  if (!existsSync('/sys/block')) return [];
  return readdirSync('/sys/block')
    .filter((n) => n.startsWith('loop'))
    .filter((n) => {
      const b = backingFile(n);
      return b !== undefined && path.resolve(b).startsWith(`${path.resolve(dir)}/`);
    })
    .map((n) => `/dev/${n}`);
}
