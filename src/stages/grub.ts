/**
 * GRUB pieces shared by the ISO and the QCOW2 (pure renderers and argv builders). The boot
 * loaders are standalone GRUB images built from the host's GRUB modules; their tiny embedded
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
  /** Serial console for the menu (the kernel's console is on the command line). */
  serial: boolean;
  serialCommand?: string;
  entries: readonly MenuEntry[];
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
    lines.push(c.serialCommand ?? 'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1');
    lines.push('terminal_input serial console', 'terminal_output serial console');
  }
  lines.push(search(c.finder), `set timeout=${c.timeout}`, 'set default=0', '');
  for (const e of c.entries) {
    lines.push(
      `menuentry '${e.title.replace(/'/g, '')}' {`,
      `  linux ${e.kernel} ${e.cmdline.join(' ')}`.trimEnd(),
      `  initrd ${e.initrd}`,
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

/** grub-mkstandalone argv for an image whose memdisk carries `earlyCfg` as /boot/grub/grub.cfg. */
export function mkstandaloneArgv(
  format: 'i386-pc-eltorito' | 'i386-pc' | 'x86_64-efi',
  output: string,
  earlyCfgFile: string,
): string[] {
  const bios = format.startsWith('i386');
  const modules = [...MODULES, ...(bios ? ['biosdisk'] : [])].join(' ');
  return [
    'grub-mkstandalone',
    `--format=${format}`,
    `--output=${output}`,
    `--modules=${modules}`,
    // a BIOS core image must stay under 480 KiB: put only what we load in its memdisk
    ...(bios ? [`--install-modules=${modules}`] : []),
    '--locales=',
    '--fonts=',
    '--themes=',
    `boot/grub/grub.cfg=${earlyCfgFile}`,
  ];
}
