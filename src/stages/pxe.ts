import { copyFileSync, lstatSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { GRAMMAR } from '../profile/schema.ts';
import type { Runner } from '../run/runner.ts';
import { PXE_FILES } from '../sys/pxe-layout.ts';
import { mksquashfs, type SquashfsOptions } from './iso.ts';

/**
 * The `pxe` artifact: a folder `<name>.pxe/` (names in src/sys/pxe-layout.ts) holding the kernel,
 * the initrd, the live root squashfs and an iPXE script. Served as it is from a TFTP (or HTTP)
 * root, the script boots the kernel with live-boot's `fetch=`: the initramfs brings the network
 * up (klibc ipconfig, DHCP), downloads the squashfs into RAM (busybox tftp, or wget for http/ftp)
 * and boots from it, so the root needs no NFS and no disk.
 */

/**
 * Where live-boot fetches the squashfs from when the caller gives no base: the TFTP server iPXE
 * booted from (iPXE expands `${next-server}` before handing the command line to the kernel).
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an iPXE setting, expanded by iPXE
export const DEFAULT_PXE_BASE_URL = 'tftp://${next-server}/';

/** A base URL: tftp, http or ftp, ending in `/`, only kernel-token characters (no `$`: iPXE would expand it). */
const BASE_URL = /^(tftp|http|ftp):\/\/[A-Za-z0-9_.,:=/+@%~-]+\/$/;

/** Parameters the script sets itself; a caller's own would fight them. */
const SET_BY_SCRIPT = ['initrd', 'fetch'];

export interface IpxeScriptOptions {
  /** The kernel command line, as tokens (for example liveCmdline() of src/modules/grub.ts); needs boot=live. */
  cmdline: readonly string[];
  /**
   * URL of the folder the squashfs is served from, ending in `/`; default the booting TFTP
   * server's root (DEFAULT_PXE_BASE_URL). The kernel and initrd are always fetched relative
   * to the script, wherever it is.
   */
  baseUrl?: string;
}

/** Every value that reaches the script, checked: no space, line break, `$` or iPXE syntax. */
export function checkIpxeInputs(o: IpxeScriptOptions): void {
  for (const token of o.cmdline) {
    if (!GRAMMAR.kernelToken.test(token))
      throw new UserError(
        `kernel command line token ${JSON.stringify(token)} cannot go into an iPXE script`,
        'a token is one word without spaces, line breaks, quotes or any of $ ; # { } | & < > \\',
      );
    const key = token.split('=')[0]!;
    if (SET_BY_SCRIPT.includes(key))
      throw new UserError(
        `kernel command line token ${JSON.stringify(token)}: the pxe boot script sets ${key}= itself`,
        `remove it; to fetch the root squashfs from elsewhere give the pxe base URL`,
      );
  }
  if (!o.cmdline.includes('boot=live'))
    throw new UserError(
      'the pxe kernel command line has no boot=live',
      'the pxe artifact boots with live-boot: keep boot=live in the live command line',
    );
  // live-boot hands busybox tftp the host part as it is: a port would be taken for a host name
  if (o.baseUrl !== undefined && (!BASE_URL.test(o.baseUrl) || /^tftp:\/\/[^/]*:/.test(o.baseUrl)))
    throw new UserError(
      `pxe base URL ${JSON.stringify(o.baseUrl)} is not a tftp (without port), http or ftp URL ending in /`,
      'for example tftp://192.0.2.1/images/worker.pxe/ (no spaces, quotes or $)',
    );
}

/** The URL live-boot fetches the root squashfs from. */
export function squashfsUrl(baseUrl: string = DEFAULT_PXE_BASE_URL): string {
  return `${baseUrl}${PXE_FILES.squashfs}`;
}

/**
 * The iPXE script (pure). Kernel and initrd names are relative: iPXE resolves them against the
 * script's own URL. `initrd=` names the initrd for the kernel's EFI stub (iPXE under UEFI);
 * BIOS kernels ignore it.
 */
export function renderIpxeScript(o: IpxeScriptOptions): string {
  checkIpxeInputs(o);
  const args = [`initrd=${PXE_FILES.initrd}`, ...o.cmdline, `fetch=${squashfsUrl(o.baseUrl)}`];
  return [
    '#!ipxe',
    '# written by ib-native: boots the live system, its root squashfs fetched by live-boot',
    `kernel ${PXE_FILES.kernel} ${args.join(' ')}`,
    `initrd ${PXE_FILES.initrd}`,
    'boot',
    '',
  ].join('\n');
}

export interface PxeInputs {
  /** The configured live tree (the merged rootfs; read only). */
  tree: string;
  /** The artifact folder to write (created; for example a Publication's aside name of `<name>.pxe`). */
  out: string;
  kernelVersion: string;
  cmdline: readonly string[];
  baseUrl?: string;
  /** `boot` is always left out too (the kernel and initrd travel beside the squashfs). */
  squashfs: SquashfsOptions;
  /** SOURCE_DATE_EPOCH: the squashfs's creation time and every file time of the folder. */
  sourceDateEpoch?: number;
}

/** The tree's file, refused unless it is a regular file (the tree is untrusted: no link is followed). */
function treeFile(tree: string, rel: string): string {
  const file = path.join(tree, rel);
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st?.isFile())
    throw new UserError(
      `${file} is ${st ? 'not a regular file' : 'missing'}`,
      'the pxe artifact needs the kernel and initrd of the kernel version given (is linux-image installed?)',
    );
  return file;
}

/** The squashfs options of the pxe artifact's root (pure). */
export function pxeSquashfsOptions(o: SquashfsOptions, sourceDateEpoch?: number): SquashfsOptions {
  return {
    ...o,
    exclude: ['boot', ...o.exclude.filter((e) => e !== 'boot')],
    ...(sourceDateEpoch !== undefined ? { mkfsTime: sourceDateEpoch } : {}),
  };
}

export async function buildPxe(runner: Runner, logger: Logger, i: PxeInputs): Promise<void> {
  // every check before any work
  const script = renderIpxeScript({ cmdline: i.cmdline, ...(i.baseUrl ? { baseUrl: i.baseUrl } : {}) });
  const kernel = treeFile(i.tree, `boot/vmlinuz-${i.kernelVersion}`);
  const initrd = treeFile(i.tree, `boot/initrd.img-${i.kernelVersion}`);
  mkdirSync(i.out, { recursive: true });
  const squash = pxeSquashfsOptions(i.squashfs, i.sourceDateEpoch);
  logger.info(`pxe: mksquashfs (${squash.compression}, ${squash.threads} threads)`);
  await mksquashfs(
    runner,
    i.tree,
    path.join(i.out, PXE_FILES.squashfs),
    squash,
    'creating the pxe root squashfs',
  );
  copyFileSync(kernel, path.join(i.out, PXE_FILES.kernel));
  copyFileSync(initrd, path.join(i.out, PXE_FILES.initrd));
  writeFileSync(path.join(i.out, PXE_FILES.script), script);
  const sde = i.sourceDateEpoch;
  if (sde !== undefined) {
    for (const f of Object.values(PXE_FILES)) utimesSync(path.join(i.out, f), sde, sde);
    utimesSync(i.out, sde, sde);
  }
}
