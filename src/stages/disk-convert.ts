import { UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { qemuImgProgress } from '../run/progress.ts';
import type { Runner } from '../run/runner.ts';
import { watchdog } from '../run/watchdog.ts';
import { stampVhdxIds, stampVmdk } from './disk-stamp.ts';

/**
 * From one finished raw disk (partitioned, filesystems filled, boot loaders in) to each disk
 * format: the argv builders are pure, `convertDisk` runs them and `diskFacts` checks the result.
 *
 * - `raw`: `cp --sparse=always --reflink=auto`: a reflink where the filesystem has them, else a
 *   copy that leaves every all-zero block a hole. `qemu-img convert -O raw` gives the same bytes
 *   and the same blocks on disk (measured on a 19 GiB minimal disk: 843 MiB allocated either way,
 *   3.9 s vs 4.1 s) but never reflinks and goes through QEMU's block layer for nothing.
 * - `vmdk`: streamOptimized (what VMware imports and OVF packages carry: grains compressed,
 *   written in order). `adapter_type=lsilogic` (qemu-img's default `ide` limits the disk to IDE
 *   geometry and VMware boots the disk on an LSI Logic controller by default for Linux guests);
 *   `hwversion=6`, what qemu-img writes without asking, named so the descriptor does not change
 *   with the qemu-img version.
 * - `vhdx`: dynamic (blocks allocated as written). qemu-img writes 512-byte logical and 4096-byte
 *   physical sectors and has no option for them; Hyper-V reads both. `block_state_zero` is left
 *   at its default (qemu's docs: never turn it off with `convert` and `subformat=dynamic`).
 *
 * qemu-img stamps a random content id (CID) into a VMDK's descriptor and random GUIDs into a
 * VHDX (file and data write GUIDs, the log's GUID, the virtual disk id), and has no option to
 * fix them: under SOURCE_DATE_EPOCH they are replaced with ids derived from the seed
 * (`disk-stamp.ts`), so that the same raw disk gives the same bytes. A VMDK's descriptor also
 * names its own file: it is set to the published name, not the staging one qemu-img wrote.
 */

export type DiskFormat = 'raw' | 'vmdk' | 'vhdx';

export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'vmdk', 'vhdx'];

/** The file name extension of each disk format. */
export const DISK_EXTENSIONS: Record<DiskFormat, string> = { raw: '.img', vmdk: '.vmdk', vhdx: '.vhdx' };

/** What qemu-img writes, per format. */
export const QEMU_IMG_OPTIONS: Record<Exclude<DiskFormat, 'raw'>, string> = {
  vmdk: 'subformat=streamOptimized,adapter_type=lsilogic,hwversion=6',
  vhdx: 'subformat=dynamic',
};

/**
 * The argv that makes `out` in `format` from the finished raw disk `raw`. Pure. qemu-img runs
 * one coroutine in order (no -W): out-of-order writes place the clusters differently per run.
 */
export function diskConvertArgv(format: DiskFormat, raw: string, out: string): string[] {
  if (format === 'raw') return ['cp', '--sparse=always', '--reflink=auto', '--', raw, out];
  return ['qemu-img', 'convert', '-f', 'raw', '-O', format, '-o', QEMU_IMG_OPTIONS[format], '-p', raw, out];
}

export function qemuImgInfoArgv(file: string, format?: DiskFormat | 'qcow2'): string[] {
  return ['qemu-img', 'info', '--output=json', ...(format ? ['-f', format] : []), file];
}

/** `qemu-img check` knows vmdk and vhdx (and qcow2); a raw file has nothing to check. */
export function qemuImgCheckArgv(file: string, format: DiskFormat | 'qcow2'): string[] | undefined {
  return format === 'raw' ? undefined : ['qemu-img', 'check', '--output=json', '-f', format, file];
}

export interface DiskFacts {
  format: string;
  virtualBytes: number;
  /** Bytes the file takes on disk (qemu-img's `actual-size`). */
  actualBytes?: number;
  /** vmdk: its create type (`streamOptimized`); vhdx: none. */
  subformat?: string;
}

/** The facts of `qemu-img info --output=json`. Pure. */
export function parseQemuImgInfo(json: string): DiskFacts {
  let info: {
    format?: unknown;
    'virtual-size'?: unknown;
    'actual-size'?: unknown;
    'format-specific'?: { data?: { 'create-type'?: unknown } };
  };
  try {
    info = JSON.parse(json);
  } catch (e) {
    throw new UserError(`qemu-img info printed no JSON: ${(e as Error).message}`);
  }
  if (typeof info.format !== 'string' || typeof info['virtual-size'] !== 'number')
    throw new UserError('qemu-img info printed no format or virtual size');
  const create = info['format-specific']?.data?.['create-type'];
  return {
    format: info.format,
    virtualBytes: info['virtual-size'],
    ...(typeof info['actual-size'] === 'number' && { actualBytes: info['actual-size'] }),
    ...(typeof create === 'string' && { subformat: create }),
  };
}

/** What `qemu-img check --output=json` found wrong, as sentences; empty when the image is sound. Pure. */
export function parseQemuImgCheck(json: string): string[] {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(json);
  } catch (e) {
    return [`qemu-img check printed no JSON: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  for (const k of ['corruptions', 'leaks', 'check-errors', 'corruptions-fixed', 'leaks-fixed'])
    if (typeof c[k] === 'number' && c[k] > 0) problems.push(`${c[k]} ${k}`);
  return problems;
}

/**
 * The facts of a converted disk, checked: its format (and a VMDK's stream subformat) as asked,
 * the raw disk's virtual size, and a sound `qemu-img check`.
 */
export async function diskFacts(
  runner: Runner,
  format: DiskFormat | 'qcow2',
  file: string,
  virtualBytes: number,
): Promise<DiskFacts> {
  const facts = parseQemuImgInfo(
    (await runner.run(qemuImgInfoArgv(file, format), { context: `reading ${file}` })).stdout,
  );
  const wrong: string[] = [];
  if (facts.format !== format) wrong.push(`format ${facts.format}, not ${format}`);
  if (facts.virtualBytes !== virtualBytes)
    wrong.push(`virtual size ${facts.virtualBytes}, not the raw disk's ${virtualBytes}`);
  if (format === 'vmdk' && facts.subformat !== 'streamOptimized')
    wrong.push(`VMDK subformat ${facts.subformat}, not streamOptimized`);
  const check = qemuImgCheckArgv(file, format);
  // exit codes 2 and 3: corruptions or leaks, reported in the JSON
  if (check)
    wrong.push(
      ...parseQemuImgCheck(
        (await runner.run(check, { okExitCodes: [2, 3], context: `checking ${file}` })).stdout,
      ),
    );
  if (wrong.length) throw new UserError(`${file} is not a sound ${format} disk: ${wrong.join('; ')}`);
  return facts;
}

export interface ConvertInputs {
  /** The finished raw disk. */
  raw: string;
  out: string;
  format: DiskFormat;
  /** Its virtual size (the layout's size), checked after the conversion. */
  virtualBytes: number;
  /** With SOURCE_DATE_EPOCH: ids qemu-img draws at random are derived from this seed instead. */
  reproducibleSeed?: string;
  /** The name `out` will be published as (a VMDK's descriptor names its own file). */
  finalName?: string;
  /** The conversion command as planned (diskConvertArgv, paths filled in); made here when absent. */
  command?: string[];
}

/** Converts the raw disk, fixes the random ids when reproducible, and checks the result. */
export async function convertDisk(runner: Runner, logger: Logger, i: ConvertInputs): Promise<DiskFacts> {
  logger.info(`${i.format}: ${i.format === 'raw' ? 'sparse copy of' : 'qemu-img convert of'} the raw disk`);
  await runner.run(i.command ?? diskConvertArgv(i.format, i.raw, i.out), {
    ...watchdog(i.out),
    context: `converting the disk to ${i.format}`,
    ...(i.format !== 'raw' && { progress: qemuImgProgress('qemu-img convert') }),
  });
  if (i.reproducibleSeed !== undefined) {
    if (i.format === 'vhdx') stampVhdxIds(i.out, i.reproducibleSeed);
  }
  if (i.format === 'vmdk')
    stampVmdk(i.out, {
      ...(i.finalName !== undefined && { finalName: i.finalName }),
      ...(i.reproducibleSeed !== undefined && { seed: i.reproducibleSeed }),
    });
  return diskFacts(runner, i.format, i.out, i.virtualBytes);
}
