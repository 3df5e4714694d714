import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  grubPlatform,
  grubWord,
  memdiskEntries,
  memdiskTarArgv,
  mkimageStandaloneArgv,
  moduleClosure,
  renderEarlyConfig,
  renderGrubCfg,
  standaloneModules,
} from '../../../src/stages/grub.ts';

test('renderEarlyConfig: by marker file (ISO)', () => {
  assert.is(
    renderEarlyConfig({ kind: 'file', file: '/.ib-native-abc' }, '/boot/grub/grub.cfg'),
    'search --no-floppy --set=root --file /.ib-native-abc\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n',
  );
});

test('renderEarlyConfig: by filesystem UUID, with /boot as its own filesystem', () => {
  assert.is(
    renderEarlyConfig({ kind: 'uuid', uuid: '0a1b-2c3d' }, '/grub/grub.cfg'),
    'search --no-floppy --set=root --fs-uuid 0a1b-2c3d\nset prefix=($root)/grub\nconfigfile ($root)/grub/grub.cfg\n',
  );
});

test('grubWord: plain words as they are; the rest single-quoted by GRUB rules; no control characters', () => {
  assert.is(grubWord('console=ttyS0,115200n8'), 'console=ttyS0,115200n8');
  assert.is(grubWord('a;b'), "'a;b'");
  assert.is(grubWord('$root'), "'$root'");
  assert.is(grubWord("it's"), "'it'\\''s'");
  assert.is(grubWord('#x'), "'#x'");
  assert.throws(() => grubWord('a\nmenuentry x {'), /control character/);
});

test('renderGrubCfg: a hostile command line token stays one quoted word of the linux line', () => {
  const cfg = renderGrubCfg({
    timeout: 1,
    finder: { kind: 'uuid', uuid: 'u' },
    serial: false,
    entries: [
      {
        title: 'x',
        kernel: '/k',
        initrd: '/i',
        cmdline: ["quiet'; }; menuentry 'evil' { linux /k init=/bin/sh; #", 'a$b{c}'],
      },
    ],
  });
  assert.is(cfg.split('\n').filter((l) => l.startsWith('menuentry')).length, 1, cfg);
  assert.match(
    cfg,
    /\n {2}linux \/k 'quiet'\\'';\s\};\smenuentry\s'\\''evil'\\''\s\{\slinux\s\/k\sinit=\/bin\/sh;\s#' 'a\$b\{c\}'\n/,
  );
  assert.throws(
    () =>
      renderGrubCfg({
        timeout: 1,
        finder: { kind: 'uuid', uuid: 'u' },
        serial: true,
        serialCommand: 'serial --unit=0\nmenuentry evil {',
        entries: [],
      }),
    /not a GRUB serial command/,
  );
});

test('renderGrubCfg: exact output with a serial console', () => {
  assert.is(
    renderGrubCfg({
      timeout: 3,
      finder: { kind: 'uuid', uuid: 'u-1' },
      serial: true,
      entries: [
        {
          title: "Bob's image",
          kernel: '/vmlinuz-6.1',
          initrd: '/initrd.img-6.1',
          cmdline: ['root=UUID=r', 'ro', 'console=ttyS0'],
        },
        { title: 'rescue', kernel: '/k', initrd: '/i', cmdline: [] },
      ],
    }),
    [
      '# written by ib-native',
      'insmod part_gpt',
      'insmod part_msdos',
      'insmod ext2',
      'insmod iso9660',
      'insmod all_video',
      'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1',
      'terminal_input serial console',
      'terminal_output serial console',
      'search --no-floppy --set=root --fs-uuid u-1',
      'set timeout=3',
      'set default=0',
      '',
      "menuentry 'Bob'\\''s image' {",
      '  linux /vmlinuz-6.1 root=UUID=r ro console=ttyS0',
      '  initrd /initrd.img-6.1',
      '}',
      "menuentry 'rescue' {",
      '  linux /k',
      '  initrd /i',
      '}',
      '',
    ].join('\n'),
  );
});

test('renderGrubCfg: custom serial command; no serial lines without serial', () => {
  const withCmd = renderGrubCfg({
    timeout: 0,
    finder: { kind: 'file', file: '/m' },
    serial: true,
    serialCommand: 'serial --unit=1 --speed=9600',
    entries: [],
  });
  assert.is(
    withCmd,
    '# written by ib-native\ninsmod part_gpt\ninsmod part_msdos\ninsmod ext2\ninsmod iso9660\ninsmod all_video\n' +
      'serial --unit=1 --speed=9600\nterminal_input serial console\nterminal_output serial console\n' +
      'search --no-floppy --set=root --file /m\nset timeout=0\nset default=0\n\n',
  );
  const plain = renderGrubCfg({
    timeout: 5,
    finder: { kind: 'file', file: '/m' },
    serial: false,
    serialCommand: 'serial x',
    entries: [],
  });
  assert.not.match(plain, /serial|terminal_/);
  assert.match(plain, /\ninsmod all_video\nsearch --no-floppy --set=root --file \/m\nset timeout=5\n/);
});

test("renderGrubCfg: serial 'bios-only' sets up the serial terminal under BIOS only (a signed UEFI GRUB without it keeps the firmware's console)", () => {
  const cfg = renderGrubCfg({
    timeout: 0,
    finder: { kind: 'file', file: '/m' },
    serial: 'bios-only',
    entries: [],
  });
  assert.match(
    cfg,
    '\nif [ "$grub_platform" = pc ]; then\n  serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1\n  terminal_input serial console\n  terminal_output serial console\nfi\nsearch ',
  );
  assert.throws(
    () =>
      renderGrubCfg({
        timeout: 0,
        finder: { kind: 'file', file: '/m' },
        serial: 'bios-only',
        serialCommand: 'serial; reboot',
        entries: [],
      }),
    /not a GRUB serial command/,
  );
});

const MODULES =
  'part_gpt part_msdos ext2 fat iso9660 search search_fs_uuid search_fs_file configfile normal linux echo test serial terminal gzio all_video'.split(
    ' ',
  );

test('standaloneModules and grubPlatform: BIOS formats add biosdisk and use i386-pc', () => {
  assert.equal(standaloneModules('x86_64-efi'), MODULES);
  for (const f of ['i386-pc', 'i386-pc-eltorito'] as const) {
    assert.equal(standaloneModules(f), [...MODULES, 'biosdisk']);
    assert.equal(grubPlatform(f), { dir: '/usr/lib/grub/i386-pc', name: 'i386-pc' });
  }
  assert.equal(grubPlatform('x86_64-efi'), { dir: '/usr/lib/grub/x86_64-efi', name: 'x86_64-efi' });
});

const MODDEP = `xfs: fshelp
fshelp:
normal: extcmd crypto terminal
extcmd:
crypto:
terminal:
linux: relocator normal
relocator: mmap
mmap:
echo: extcmd
`;

test('moduleClosure: the modules asked for and everything they need, sorted, each once', () => {
  assert.equal(moduleClosure(MODDEP, ['linux', 'echo']), [
    'crypto',
    'echo',
    'extcmd',
    'linux',
    'mmap',
    'normal',
    'relocator',
    'terminal',
  ]);
  // unknown modules are kept (grub-mkimage reports them), blank and odd lines ignored
  assert.equal(moduleClosure(`\n  \nnot a line\n${MODDEP}`, ['fshelp', 'nope']), ['fshelp', 'nope']);
});

test('memdiskEntries: EFI carries every module and index; BIOS only the closure; sorted by name', () => {
  const listing = [
    'normal.mod',
    'xfs.mod',
    'fs.lst',
    'kernel.img',
    'moddep.lst',
    'linux.mod',
    'config.h',
    'a.mod',
  ];
  const efi = memdiskEntries('x86_64-efi', listing, MODDEP, '/w/early.cfg');
  assert.equal(
    efi.map((e) => e.name),
    [
      'boot/grub/grub.cfg',
      'boot/grub/x86_64-efi/a.mod',
      'boot/grub/x86_64-efi/fs.lst',
      'boot/grub/x86_64-efi/linux.mod',
      'boot/grub/x86_64-efi/moddep.lst',
      'boot/grub/x86_64-efi/normal.mod',
      'boot/grub/x86_64-efi/xfs.mod',
    ],
  );
  assert.equal(efi[0], { from: '/w/early.cfg', name: 'boot/grub/grub.cfg' });
  assert.equal(efi[1], { from: '/usr/lib/grub/x86_64-efi/a.mod', name: 'boot/grub/x86_64-efi/a.mod' });
  const bios = memdiskEntries('i386-pc-eltorito', listing, MODDEP, '/w/early.cfg').map((e) => e.name);
  // linux and normal are core modules (closure); xfs and a are not; indexes always go along
  assert.equal(bios, [
    'boot/grub/grub.cfg',
    'boot/grub/i386-pc/fs.lst',
    'boot/grub/i386-pc/linux.mod',
    'boot/grub/i386-pc/moddep.lst',
    'boot/grub/i386-pc/normal.mod',
  ]);
});

test('memdiskTarArgv: listed files only, ustar, fixed owner, mode and mtime', () => {
  assert.equal(memdiskTarArgv('/w/m.tar', '/w/m', '/w/m.list', 1700000000), [
    'tar',
    '--create',
    '--file=/w/m.tar',
    '--format=ustar',
    '--directory=/w/m',
    '--no-recursion',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=0644',
    '--mtime=@1700000000',
    '--files-from=/w/m.list',
  ]);
});

test('mkimageStandaloneArgv: core modules plus memdisk and tar, prefix in the memdisk', () => {
  assert.equal(mkimageStandaloneArgv('i386-pc-eltorito', '/w/bios.img', '/w/m.tar'), [
    'grub-mkimage',
    '--format=i386-pc-eltorito',
    '--directory=/usr/lib/grub/i386-pc',
    '--output=/w/bios.img',
    '--prefix=(memdisk)/boot/grub',
    '--memdisk=/w/m.tar',
    ...MODULES,
    'biosdisk',
    'memdisk',
    'tar',
  ]);
  const efi = mkimageStandaloneArgv('x86_64-efi', '/w/x.efi', '/w/m.tar');
  assert.is(efi[2], '--directory=/usr/lib/grub/x86_64-efi');
  assert.not.ok(efi.includes('biosdisk'));
});

test.run();
