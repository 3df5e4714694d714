import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkstandaloneArgv, renderEarlyConfig, renderGrubCfg } from '../../../src/stages/grub.ts';

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
      "menuentry 'Bobs image' {",
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

const MODULES =
  'part_gpt part_msdos ext2 fat iso9660 search search_fs_uuid search_fs_file configfile normal linux echo test serial terminal gzio all_video';

test('mkstandaloneArgv: BIOS images carry biosdisk and only the loaded modules', () => {
  for (const format of ['i386-pc', 'i386-pc-eltorito'] as const) {
    assert.equal(mkstandaloneArgv(format, '/w/bios.img', '/w/early.cfg'), [
      'grub-mkstandalone',
      `--format=${format}`,
      '--output=/w/bios.img',
      `--modules=${MODULES} biosdisk`,
      `--install-modules=${MODULES} biosdisk`,
      '--locales=',
      '--fonts=',
      '--themes=',
      'boot/grub/grub.cfg=/w/early.cfg',
    ]);
  }
});

test('mkstandaloneArgv: EFI has neither biosdisk nor --install-modules', () => {
  const argv = mkstandaloneArgv('x86_64-efi', '/w/bootx64.efi', '/w/early.cfg');
  assert.equal(argv, [
    'grub-mkstandalone',
    '--format=x86_64-efi',
    '--output=/w/bootx64.efi',
    `--modules=${MODULES}`,
    '--locales=',
    '--fonts=',
    '--themes=',
    'boot/grub/grub.cfg=/w/early.cfg',
  ]);
  assert.not.ok(argv.join(' ').includes('biosdisk'));
});

test.run();
