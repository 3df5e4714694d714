import { InternalError } from '../errors.ts';

/**
 * GRUB pieces shared by the ISO and the QCOW2 (pure renderers and argv builders). The boot
 * loaders are standalone GRUB images built from the host's GRUB modules (the memdisk tar made
 * here so that the images are reproducible, see ./grub-standalone.ts); their tiny embedded
 * config finds the real grub.cfg by file marker (ISO) or filesystem UUID (disk), so no
 * device name (loop, nbd) can ever end up in a boot path.
 */

export const GRUB_I386 = '/usr/lib/grub/i386-pc';
export const GRUB_EFI = '/usr/lib/grub/x86_64-efi';

export type Finder = { kind: 'file'; file: string } | { kind: 'uuid'; uuid: string };

function search(f: Finder): string {
  return f.kind === 'file'
    ? `search --no-floppy --set=root --file ${f.file}`
    : `search --no-floppy --set=root --fs-uuid ${f.uuid}`;
}

/** Embedded config of the standalone images: find the medium, hand over to its grub.cfg. */
export function renderEarlyConfig(f: Finder, cfgPath: string): string {
  return `${search(f)}\nset prefix=($root)${cfgPath.replace(/\/grub\.cfg$/, '')}\nconfigfile ($root)${cfgPath}\n`;
}

export interface MenuEntry {
  title: string;
  kernel: string;
  initrd: string;
  cmdline: readonly string[];
}

export interface GrubConfig {
  timeout: number;
  finder: Finder;
  /**
   * Serial console for the menu (the kernel's console is on the command line); 'bios-only' where
   * the UEFI GRUB that reads the config has no serial terminal (a signed one, which loads no
   * module): under UEFI the menu is on the firmware's console, which firmware sends to serial too.
   */
  serial: boolean | 'bios-only';
  serialCommand?: string;
  entries: readonly MenuEntry[];
}

/**
 * One word of a grub.cfg command, quoted by GRUB's rules: plain words as they are; anything else
 * in single quotes, where GRUB expands nothing (`$`, `;`, `#`, `{`, spaces are literal), with a
 * single quote written as '\''. Control characters (a line break would end the command) are
 * refused: the profile schema keeps them out, so meeting one here is a bug.
 */
export function grubWord(word: string, alwaysQuote = false): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\0-\x1f\x7f]/.test(word))
    throw new InternalError(`a grub.cfg word contains a control character: ${JSON.stringify(word)}`);
  if (!alwaysQuote && /^[A-Za-z0-9_.,:=/+@%~-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/** The serial command line as given (its grammar is checked by the profile schema), checked again here. */
function serialLine(command: string): string {
  if (!/^serial( [A-Za-z0-9_.,:=-]+)*$/.test(command))
    throw new InternalError(`not a GRUB serial command: ${JSON.stringify(command)}`);
  return command;
}

export function renderGrubCfg(c: GrubConfig): string {
  const lines = [
    '# written by ib-native',
    'insmod part_gpt',
    'insmod part_msdos',
    'insmod ext2',
    'insmod iso9660',
    'insmod all_video',
  ];
  if (c.serial) {
    const serial = serialLine(
      c.serialCommand ?? 'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1',
    );
    const terminals = ['terminal_input serial console', 'terminal_output serial console'];
    // (GRUB runs on past an unknown command, so `if serial` cannot tell whether it exists)
    if (c.serial === 'bios-only')
      lines.push('if [ "$grub_platform" = pc ]; then', ...[serial, ...terminals].map((t) => `  ${t}`), 'fi');
    else lines.push(serial, ...terminals);
  }
  lines.push(search(c.finder), `set timeout=${c.timeout}`, 'set default=0', '');
  for (const e of c.entries) {
    lines.push(
      `menuentry ${grubWord(e.title, true)} {`,
      ['  linux', ...[e.kernel, ...e.cmdline].map((w) => grubWord(w))].join(' '),
      `  initrd ${grubWord(e.initrd)}`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

const MODULES = [
  'part_gpt',
  'part_msdos',
  'ext2',
  'fat',
  'iso9660',
  'search',
  'search_fs_uuid',
  'search_fs_file',
  'configfile',
  'normal',
  'linux',
  'echo',
  'test',
  'serial',
  'terminal',
  'gzio',
  'all_video',
];

export type StandaloneFormat = 'i386-pc-eltorito' | 'i386-pc' | 'x86_64-efi';

/** GRUB's module folder for a format, and the name that folder has under /boot/grub. */
export function grubPlatform(format: StandaloneFormat): { dir: string; name: 'i386-pc' | 'x86_64-efi' } {
  return format === 'x86_64-efi'
    ? { dir: GRUB_EFI, name: 'x86_64-efi' }
    : { dir: GRUB_I386, name: 'i386-pc' };
}

/** Modules built into a standalone image's core (BIOS adds biosdisk). */
export function standaloneModules(format: StandaloneFormat): string[] {
  return [...MODULES, ...(format === 'x86_64-efi' ? [] : ['biosdisk'])];
}

/** `wanted` and every module they need, from moddep.lst (`mod: dep dep` lines); sorted. */
export function moduleClosure(moddep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of moddep.split('\n')) {
    const m = /^([^:\s]+):(.*)$/.exec(line.trim());
    if (m) deps.set(m[1]!, m[2]!.split(/\s+/).filter(Boolean));
  }
  const seen = new Set<string>();
  const queue = [...wanted];
  while (queue.length) {
    const mod = queue.shift()!;
    if (seen.has(mod)) continue;
    seen.add(mod);
    queue.push(...(deps.get(mod) ?? []));
  }
  return [...seen].sort();
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * What the memdisk of a standalone image holds (its /boot/grub), in tar order: the early config
 * as grub.cfg, GRUB's *.lst indexes and its modules, all of them for EFI as grub-mkstandalone
 * does, for BIOS (whose core image must stay under 480 KiB) only the core's modules and what
 * they need. `listing` is the module folder's file names.
 */
export function memdiskEntries(
  format: StandaloneFormat,
  listing: readonly string[],
  moddep: string,
  earlyCfgFile: string,
): { from: string; name: string }[] {
  const { dir, name } = grubPlatform(format);
  const bios = format !== 'x86_64-efi';
  const wanted = bios
    ? new Set(moduleClosure(moddep, standaloneModules(format)).map((m) => `${m}.mod`))
    : undefined;
  const files = listing.filter(
    (f) => f.endsWith('.lst') || (f.endsWith('.mod') && (!wanted || wanted.has(f))),
  );
  return [
    { from: earlyCfgFile, name: 'boot/grub/grub.cfg' },
    ...files.map((f) => ({ from: `${dir}/${f}`, name: `boot/grub/${name}/${f}` })),
  ].sort((a, b) => byBytes(a.name, b.name));
}

/**
 * GNU tar argv for a memdisk: the listed files only, in the list's order, ustar, with a fixed
 * owner, mode and mtime. (grub-mkstandalone writes its own tar with the mtimes of temporary
 * copies and in readdir order, so its images differ from one run to the next.)
 */
export function memdiskTarArgv(out: string, dir: string, listFile: string, mtime: number): string[] {
  return [
    'tar',
    '--create',
    `--file=${out}`,
    '--format=ustar',
    `--directory=${dir}`,
    '--no-recursion',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=0644',
    `--mtime=@${mtime}`,
    `--files-from=${listFile}`,
  ];
}

/** grub-mkimage argv of a standalone image: the core's modules, and the memdisk as its prefix. */
export function mkimageStandaloneArgv(format: StandaloneFormat, output: string, memdisk: string): string[] {
  return [
    'grub-mkimage',
    `--format=${format}`,
    `--directory=${grubPlatform(format).dir}`,
    `--output=${output}`,
    '--prefix=(memdisk)/boot/grub',
    `--memdisk=${memdisk}`,
    ...standaloneModules(format),
    'memdisk',
    'tar',
  ];
}
