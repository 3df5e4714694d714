import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Runner } from '../run/runner.ts';
import {
  grubPlatform,
  memdiskEntries,
  memdiskTarArgv,
  mkimageStandaloneArgv,
  type StandaloneFormat,
} from './grub.ts';

export interface StandaloneImage {
  format: StandaloneFormat;
  output: string;
  /** Embedded as the memdisk's /boot/grub/grub.cfg. */
  earlyCfg: string;
  /** Scratch folder (the memdisk is assembled under it). */
  work: string;
  /** mtime of every memdisk entry: SOURCE_DATE_EPOCH when set (GRUB never reads it). */
  mtime: number;
}

/**
 * A standalone GRUB image, as grub-mkstandalone makes it (core modules, prefix in a memdisk
 * holding the early config and the modules) but bit-for-bit the same from run to run: the
 * memdisk tar is written with fixed order, owner, mode and mtime, then grub-mkimage (itself
 * reproducible: its PE header carries a fixed timestamp) embeds it.
 */
export async function buildStandaloneImage(runner: Runner, o: StandaloneImage): Promise<void> {
  const { dir } = grubPlatform(o.format);
  const stage = path.join(o.work, `memdisk-${o.format}`);
  rmSync(stage, { recursive: true, force: true });
  const entries = memdiskEntries(
    o.format,
    readdirSync(dir),
    readFileSync(path.join(dir, 'moddep.lst'), 'utf8'),
    o.earlyCfg,
  );
  for (const e of entries) {
    mkdirSync(path.dirname(path.join(stage, e.name)), { recursive: true });
    copyFileSync(e.from, path.join(stage, e.name));
  }
  const list = `${stage}.list`;
  const tar = `${stage}.tar`;
  writeFileSync(list, `${entries.map((e) => e.name).join('\n')}\n`);
  await runner.run(memdiskTarArgv(tar, stage, list, o.mtime), { context: `packing the ${o.format} memdisk` });
  await runner.run(mkimageStandaloneArgv(o.format, o.output, tar), {
    context: `building the ${o.format} GRUB image`,
  });
  for (const f of [stage, list, tar]) rmSync(f, { recursive: true, force: true });
}
