import tar from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type DiskPartition, debugfsQuote, mountOf, mountsFromFstab } from '../../../src/inspect/disk.ts';
import type { Entry } from '../../../src/inspect/entries.ts';
import { detectFormat, manifestPathOf } from '../../../src/inspect/image.ts';
import { opaqueFolders, unsquashfsPattern } from '../../../src/inspect/iso.ts';
import {
  parseBlkidExport,
  parseDebugfsLs,
  parseDebugfsStat,
  parseFstab,
  parseGrubCfg,
  parseMdir,
  parseReportLba,
  parseSgdiskPrint,
} from '../../../src/inspect/parsers.ts';
import { resolvePath } from '../../../src/inspect/paths.ts';
import {
  type Layer,
  parseSquashfsListing,
  type SquashfsEntry,
  stackLayers,
} from '../../../src/inspect/squashfs.ts';
import { recordingRunner } from '../../../src/run/runner.ts';

test('grub.cfg: menu entries with kernel, initrd and the command line, quotes undone', () => {
  const cfg = `# written by ib-native
insmod part_gpt
search --no-floppy --set=root --fs-uuid 1234
set timeout=1

menuentry 'minimal (debian-bookworm)' {
  linux /vmlinuz-6.1.0-56-amd64 root=UUID=98042a0b ro console=tty0 console=ttyS0,115200n8
  initrd /initrd.img-6.1.0-56-amd64
}
menuentry "rescue" --class x {
  linuxefi /boot/vmlinuz boot=live 'quoted arg' a\\ b
}
`;
  assert.equal(parseGrubCfg(cfg), [
    {
      title: 'minimal (debian-bookworm)',
      kernel: '/vmlinuz-6.1.0-56-amd64',
      initrd: '/initrd.img-6.1.0-56-amd64',
      cmdline: ['root=UUID=98042a0b', 'ro', 'console=tty0', 'console=ttyS0,115200n8'],
    },
    { title: 'rescue', kernel: '/boot/vmlinuz', cmdline: ['boot=live', 'quoted arg', 'a b'] },
  ]);
});

test('fstab, sgdisk --print, blkid -o export', () => {
  assert.equal(
    parseFstab(
      '# c\nUUID=ab / ext4 defaults,errors=remount-ro 0 1\n\nLABEL=EFI /boot/efi vfat umask=0077 0 1\n/dev/x /my\\040data xfs\n',
    ),
    [
      { spec: 'UUID=ab', mountpoint: '/', type: 'ext4', options: 'defaults,errors=remount-ro' },
      { spec: 'LABEL=EFI', mountpoint: '/boot/efi', type: 'vfat', options: 'umask=0077' },
      { spec: '/dev/x', mountpoint: '/my data', type: 'xfs', options: 'defaults' },
    ],
  );
  const t = parseSgdiskPrint(`Disk d.raw: 39845888 sectors, 19.0 GiB
Sector size (logical): 512 bytes
Disk identifier (GUID): 4745FBEC-E166-4E82-A82D-D77E4D02D583
Partition table holds up to 128 entries
First usable sector is 34, last usable sector is 39845854
Total free space is 2014 sectors (1007.0 KiB)

Number  Start (sector)    End (sector)  Size       Code  Name
   1         2629632        39845854   17.7 GiB    8300  root
   2            2048           10239   4.0 MiB     EF02  bios
   3           10240         1056767   511.0 MiB   EF00  EFI system
`);
  assert.equal(
    [t.sectors, t.sectorSize, t.diskGuid],
    [39845888, 512, '4745FBEC-E166-4E82-A82D-D77E4D02D583'],
  );
  assert.equal(t.partitions, [
    { number: 1, firstSector: 2629632, lastSector: 39845854, code: '8300', name: 'root' },
    { number: 2, firstSector: 2048, lastSector: 10239, code: 'EF02', name: 'bios' },
    { number: 3, firstSector: 10240, lastSector: 1056767, code: 'EF00', name: 'EFI system' },
  ]);
  assert.equal(parseBlkidExport('DEVNAME=d.raw\nLABEL=my\\ disk\nUUID=C9C4-B76A\nTYPE=vfat\n'), {
    DEVNAME: 'd.raw',
    LABEL: 'my disk',
    UUID: 'C9C4-B76A',
    TYPE: 'vfat',
  });
});

test('xorriso report_lba: byte offsets and sizes per file, several extents kept in order', () => {
  const m = parseReportLba(`Report layout: xt , Startlba ,   Blocks , Filesize , ISO image path
File data lba:  0 ,       235 ,        1 ,      523 , '/boot/grub/grub.cfg'
File data lba:  0 ,    21496 ,   153480 , 314327040 , '/live/filesystem.squashfs'
File data lba:  1 ,    500000 ,   2 , 4096 , '/live/big.squashfs'
File data lba:  0 ,    400000 ,   2 , 4096 , '/live/big.squashfs'
File data lba:  0 ,    7 ,   1 , 3 , '/it'"'"'s'
`);
  assert.equal(m.get('/boot/grub/grub.cfg'), [
    { path: '/boot/grub/grub.cfg', offset: 235 * 2048, bytes: 523 },
  ]);
  assert.equal(
    m.get('/live/big.squashfs')?.map((x) => x.offset),
    [400000 * 2048, 500000 * 2048],
  );
  assert.ok(m.has("/it's"));
});

test('debugfs: ls -p and stat (mode bits, setuid, fast link target)', () => {
  const ls = parseDebugfsLs(
    '/131121/040755/0/0/.//\n/131073/040755/0/0/..//\n/131255/040755/0/0/ssh_config.d//\n/131785/100640/0/42/shadow/1650/\n/0/000000/0/0/gone//\n/9/120777/0/0/os-release/21/\n',
  );
  assert.equal([...ls.keys()], ['ssh_config.d', 'shadow', 'os-release']);
  assert.equal(ls.get('shadow'), { type: 'f', mode: 0o640, uid: 0, gid: 42, size: 1650 });
  assert.is(ls.get('ssh_config.d')?.type, 'd');
  assert.is(ls.get('os-release')?.type, 'l');
  const link = parseDebugfsStat(`Inode: 131077   Type: symlink    Mode:  0777   Flags: 0x0
Generation: 1543356309    Version: 0x00000000:00000002
User:     0   Group:     0   Project:     0   Size: 21
Fragment:  Address: 0    Number: 0    Size: 0
Fast link dest: "../usr/lib/os-release"
`);
  assert.equal(link, { type: 'l', mode: 0o777, uid: 0, gid: 0, size: 21, target: '../usr/lib/os-release' });
  const suid = parseDebugfsStat(`Inode: 393709   Type: regular    Mode:  04755   Flags: 0x80000
User:     0   Group:     0   Project:     0   Size: 68248
`);
  assert.equal(suid, { type: 'f', mode: 0o4755, uid: 0, gid: 0, size: 68248 });
  assert.is(parseDebugfsStat('/nope: File not found by ext2_lookup'), undefined);
  assert.is(debugfsQuote('/a "b"'), '"/a ""b"""');
});

test('mdir -a: FAT folders with sizes, long names preferred', () => {
  const m = parseMdir(` Volume in drive : is EFI
 Volume Serial Number is C9C4-B76A
Directory for ::/EFI/BOOT

.            <DIR>     2026-11-25  21:04
..           <DIR>     2026-11-25  21:04
BOOTX64  EFI   3551232 2026-11-25  21:04
GRUB         <DIR>     2026-11-25  21:04
LONGFI~1 TXT        12 2026-11-25  21:04  long file name.txt
        3 files           3 551 232 bytes
`);
  assert.equal([...m.keys()], ['BOOTX64.EFI', 'GRUB', 'long file name.txt']);
  assert.equal(m.get('BOOTX64.EFI'), { type: 'f', mode: 0o644, uid: 0, gid: 0, size: 3551232 });
  assert.is(m.get('GRUB')?.type, 'd');
});

const LISTING = `drwxr-xr-x 0/0                      37 2026-11-25 21:03 squashfs-root
drwxr-xr-x 0/0                      70 2026-11-25 21:03 squashfs-root/etc
-rw-r----- 0/42                    128 2026-11-25 21:03 squashfs-root/etc/shadow
lrwxrwxrwx 0/0                      21 2026-11-25 21:03 squashfs-root/etc/os-release -> ../usr/lib/os-release
c--------- 0/0                   0,  0 2026-11-25 21:03 squashfs-root/etc/ssh/ssh_host_rsa_key
crw-rw-rw- 0/0                   1,  3 2026-11-25 21:03 squashfs-root/dev/null
-rwsr-xr-x 0/0                   68248 2026-11-25 21:03 squashfs-root/usr/bin/passwd
`;

test('unsquashfs -lln: types, modes, owners, link targets, whiteouts', () => {
  const l = parseSquashfsListing(LISTING);
  assert.equal(
    [...l.keys()],
    [
      '/',
      '/etc',
      '/etc/shadow',
      '/etc/os-release',
      '/etc/ssh/ssh_host_rsa_key',
      '/dev/null',
      '/usr/bin/passwd',
    ],
  );
  assert.equal(l.get('/etc/shadow'), { type: 'f', mode: 0o640, uid: 0, gid: 42, size: 128, whiteout: false });
  assert.is(l.get('/etc/os-release')?.target, '../usr/lib/os-release');
  assert.ok(l.get('/etc/ssh/ssh_host_rsa_key')?.whiteout);
  assert.not.ok(l.get('/dev/null')?.whiteout);
  assert.is(l.get('/usr/bin/passwd')?.mode, 0o4755);
});

const f = (extra: Partial<SquashfsEntry> = {}): SquashfsEntry => ({
  type: 'f',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 1,
  whiteout: false,
  ...extra,
});
const d = (extra: Partial<SquashfsEntry> = {}) => f({ type: 'd', mode: 0o755, size: 0, ...extra });
const wh = () => f({ type: 'c', mode: 0, size: 0, whiteout: true });
const layer = (name: string, entries: Record<string, SquashfsEntry>, opaque: string[] = []): Layer => ({
  name,
  listing: new Map(Object.entries(entries)),
  opaque: new Set(opaque),
});

const BASE = layer('filesystem.squashfs', {
  '/': d(),
  '/etc': d(),
  '/etc/a': f({ size: 1 }),
  '/etc/ssh': d(),
  '/etc/ssh/key': f(),
  '/etc/ssh/key.pub': f(),
  '/opt': d(),
  '/opt/x': d(),
  '/opt/x/y': f(),
  '/srv': d(),
  '/srv/old': f(),
  '/link': f(),
});

test('stacking: a later layer wins, folders merge, whiteouts delete a path and everything below it', () => {
  const v = stackLayers([
    BASE,
    layer('config-common.squashfs', { '/': d(), '/etc': d(), '/etc/a': f({ size: 2 }), '/etc/b': f() }),
    layer('config-iso.squashfs', {
      '/': d(),
      '/etc': d(),
      '/etc/ssh': d(),
      '/etc/ssh/key': wh(),
      '/opt': d(),
      '/opt/x': wh(),
    }),
  ]);
  assert.is(v.entries.get('/etc/a')?.size, 2);
  assert.is(v.entries.get('/etc/a')?.layer, 1);
  assert.is(v.entries.get('/etc/b')?.layer, 1);
  assert.is(v.entries.get('/etc/ssh/key.pub')?.layer, 0);
  assert.not.ok(v.entries.has('/etc/ssh/key'));
  assert.not.ok(v.entries.has('/opt/x'));
  assert.not.ok(v.entries.has('/opt/x/y'));
  assert.is(v.deleted.get('/etc/ssh/key'), 2);
  assert.is(v.deleted.get('/opt/x/y'), 2);
  assert.equal([...v.children.get('/etc/ssh')!].sort(), ['/etc/ssh/key.pub']);
  assert.equal([...v.children.get('/opt')!], []);
});

test('stacking: an opaque folder hides what is below it; a file replaces a folder and a folder a file', () => {
  const v = stackLayers([
    BASE,
    layer(
      'config-common.squashfs',
      { '/': d(), '/srv': d(), '/srv/new': f(), '/opt': d(), '/opt/x': f(), '/link': d(), '/link/in': f() },
      ['/srv'],
    ),
  ]);
  assert.not.ok(v.entries.has('/srv/old'));
  assert.is(v.deleted.get('/srv/old'), 1);
  assert.is(v.entries.get('/srv/new')?.layer, 1);
  assert.is(v.entries.get('/opt/x')?.type, 'f');
  assert.not.ok(v.entries.has('/opt/x/y'));
  assert.is(v.entries.get('/link')?.type, 'd');
  assert.is(v.entries.get('/link/in')?.layer, 1);
  // a later layer brings a deleted path back
  const back = stackLayers([
    BASE,
    layer('a', { '/etc': d(), '/etc/a': wh() }),
    layer('b', { '/etc': d(), '/etc/a': f({ size: 9 }) }),
  ]);
  assert.is(back.entries.get('/etc/a')?.size, 9);
  assert.not.ok(back.deleted.has('/etc/a'));
});

test('opaque folders come from sqfs2tar’s PAX xattr records', async () => {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  const xattr = (k: string, v: string) => ({ [`SCHILY.xattr.${k}`]: v });
  pack.entry({ name: 'etc/', type: 'directory', pax: xattr('trusted.overlay.impure', 'y') } as tar.Header);
  pack.entry({ name: 'srv/', type: 'directory', pax: xattr('trusted.overlay.opaque', 'y') } as tar.Header);
  pack.entry({ name: 'srv/new', type: 'file', size: 2 } as tar.Header, 'hi');
  pack.finalize();
  await ended;
  const runner = recordingRunner(() => ({ stdoutBytes: Buffer.concat(chunks) }));
  assert.equal([...(await opaqueFolders(runner, '/x/layer.squashfs'))], ['/srv']);
  assert.equal(runner.calls, [['sqfs2tar', '/x/layer.squashfs']]);
});

test('resolvePath: links followed like the kernel does, absent paths named, loops stopped', async () => {
  const tree = new Map<string, Entry>([
    ['/', { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 }],
    ['/etc', { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 }],
    [
      '/etc/os-release',
      { type: 'l', mode: 0o777, uid: 0, gid: 0, size: 21, target: '../usr/lib/os-release' },
    ],
    ['/lib', { type: 'l', mode: 0o777, uid: 0, gid: 0, size: 7, target: 'usr/lib' }],
    ['/usr', { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 }],
    ['/usr/lib', { type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0 }],
    ['/usr/lib/os-release', { type: 'f', mode: 0o644, uid: 0, gid: 0, size: 9 }],
    ['/abs', { type: 'l', mode: 0o777, uid: 0, gid: 0, size: 4 }],
    ['/loop', { type: 'l', mode: 0o777, uid: 0, gid: 0, size: 5, target: '/loop' }],
  ]);
  const lstat = async (p: string) => tree.get(p);
  const readlink = async (p: string) => (p === '/abs' ? '/etc/os-release' : '');
  const found = async (p: string) => {
    const r = await resolvePath(p, lstat, readlink);
    return r.found
      ? r.path
      : `absent at ${r.at}${r.notFolder ? ' (not a folder)' : ''}${r.loop ? ' (loop)' : ''}`;
  };
  assert.is(await found('/etc/os-release'), '/usr/lib/os-release');
  assert.is(await found('/lib/os-release'), '/usr/lib/os-release');
  assert.is(await found('//lib/./os-release'), '/usr/lib/os-release');
  assert.is(await found('/abs'), '/usr/lib/os-release');
  assert.is(await found('/etc/../usr/lib/os-release'), '/usr/lib/os-release');
  assert.is(await found('/etc/nope'), 'absent at /etc/nope');
  assert.is(await found('/usr/lib/os-release/x'), 'absent at /usr/lib/os-release (not a folder)');
  assert.is(await found('/loop'), 'absent at /loop (loop)');
  assert.is(await found('/'), '/');
  const link = await resolvePath('/etc/os-release', lstat, readlink, false);
  assert.ok(link.found && link.entry.type === 'l');
});

const part = (number: number, extra: Partial<DiskPartition>): DiskPartition => ({
  number,
  firstSector: 0,
  lastSector: 0,
  code: '8300',
  name: `p${number}`,
  offset: 0,
  bytes: 0,
  ...extra,
});

test('fstab to mounts by UUID or LABEL; a path belongs to the deepest mount above it', () => {
  const parts = [
    part(1, { filesystem: 'ext4', uuid: '98042a0b-fc0b' }),
    part(2, {}),
    part(3, { filesystem: 'vfat', uuid: 'C9C4-B76A', label: 'EFI' }),
    part(4, { filesystem: 'ext4', uuid: 'ce555fc4', label: 'boot' }),
  ];
  const mounts = mountsFromFstab(
    parseFstab(
      'UUID=98042a0b-fc0b / ext4 defaults 0 1\nUUID=c9c4-b76a /boot/efi vfat defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\nproc /proc proc defaults 0 0\nUUID=gone /data ext4 defaults 0 2\n',
    ),
    parts,
  );
  assert.equal(
    mounts.map((m) => [m.mountpoint, m.partition.number]),
    [
      ['/', 1],
      ['/boot/efi', 3],
      ['/boot', 4],
    ],
  );
  const where = (p: string) => {
    const m = mountOf(p, mounts)!;
    return `${m.mount.partition.number}:${m.inner}`;
  };
  assert.is(where('/etc/fstab'), '1:/etc/fstab');
  assert.is(where('/boot'), '4:/');
  assert.is(where('/boot/grub/grub.cfg'), '4:/grub/grub.cfg');
  assert.is(where('/boot/efi/EFI/BOOT/BOOTX64.EFI'), '3:/EFI/BOOT/BOOTX64.EFI');
  assert.is(where('/bootx'), '1:/bootx');
});

test('image format from its first bytes; the manifest beside an image; unsquashfs patterns', () => {
  const qcow = Buffer.alloc(0x8006);
  qcow.write('QFI\xfb', 0, 'latin1');
  assert.is(detectFormat(qcow), 'qcow2');
  const iso = Buffer.alloc(0x8006);
  iso.write('CD001', 0x8001, 'latin1');
  assert.is(detectFormat(iso), 'iso');
  assert.is(detectFormat(Buffer.from('hello')), undefined);
  // raw, VMDK and VHDX disks are read like a QCOW2, through a raw copy
  const disk = (at: number, magic: string) => {
    const b = Buffer.alloc(0x8006);
    b.write(magic, at, 'latin1');
    return detectFormat(b);
  };
  assert.equal([disk(512, 'EFI PART'), disk(0, 'KDMV'), disk(0, 'vhdxfile')], ['raw', 'vmdk', 'vhdx']);
  assert.is(manifestPathOf('/out/minimal.qcow2'), '/out/minimal.manifest.json');
  assert.is(manifestPathOf('out/site.v2.iso'), 'out/site.v2.manifest.json');
  assert.is(unsquashfsPattern('/etc/a*b?[c]'), '/etc/a\\*b\\?\\[c\\]');
});

test.run();
