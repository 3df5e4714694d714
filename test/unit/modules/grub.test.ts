import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  dedupeArgs,
  diskCmdline,
  GRUB_DEFAULTS_FILE,
  grubModule,
  liveCmdline,
} from '../../../src/modules/grub.ts';
import { profile, withoutHeader, written } from './helpers.ts';

const GRUB = {
  timeout: 10,
  terminal: 'serial console',
  serialCommand: 'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1',
  cmdline: ['console=tty0', 'console=ttyS0,115200n8', 'iommu=pt'],
};

test('grub: /etc/default/grub with timeout, terminal, serial command and the command line; common + qcow2', () => {
  const p = profile({
    grub: GRUB,
    kernel: { cmdline: { quiet: true } },
    apparmor: { enabled: true },
    kdump: { crashkernel: '768M' },
  });
  const ops = grubModule.plan(p);
  assert.equal(ops[0]!.contexts, ['common', 'disk']);
  assert.is(
    withoutHeader(written(ops, GRUB_DEFAULTS_FILE)),
    [
      'GRUB_DEFAULT=0',
      'GRUB_TIMEOUT_STYLE=menu',
      'GRUB_TIMEOUT=10',
      'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`',
      // crashkernel is not here: kdump's grub.d snippet appends it
      'GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200n8 iommu=pt quiet apparmor=1 security=apparmor"',
      'GRUB_CMDLINE_LINUX=""',
      'GRUB_TERMINAL="serial console"',
      'GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"',
      '',
    ].join('\n'),
  );
  assert.equal(grubModule.plan(profile()), []);
});

test('grub: terminal and serial command with shell or GRUB syntax are refused by the schema', () => {
  // grub-mkconfig copies GRUB_TERMINAL unquoted into grub.cfg: quoting the shell file is not enough
  assert.throws(() => profile({ grub: { terminal: 'a"$(reboot)`x`' } }), /GRUB terminal names/);
  assert.throws(() => profile({ grub: { serialCommand: 'serial; reboot' } }), /GRUB serial command/);
  const content = written(
    grubModule.plan(profile({ grub: { terminal: 'serial console' } })),
    GRUB_DEFAULTS_FILE,
  )!;
  assert.match(content, /^GRUB_TERMINAL="serial console"$/m);
});

test('diskCmdline: grub tokens, kernel.cmdline, cpu, apparmor, then crashkernel', () => {
  const p = profile({
    grub: { cmdline: ['console=ttyS0,115200n8', 'iommu=pt'] },
    kernel: { cmdline: { iommu: 'off', 'systemd.unified_cgroup_hierarchy': 0, nosmt: true } },
    cpu: { isolcpus: '2-3' },
    apparmor: {},
    kdump: { enabled: true, crashkernel: '768M' },
  });
  assert.equal(diskCmdline(p), [
    'console=ttyS0,115200n8',
    'iommu=off',
    'systemd.unified_cgroup_hierarchy=0',
    'nosmt',
    'isolcpus=2-3',
    'apparmor=1',
    'security=apparmor',
    'crashkernel=768M',
  ]);
  assert.equal(diskCmdline(profile({ kdump: { enabled: false, crashkernel: '768M' } })), []);
});

test('liveCmdline: the default keeps the serial console last, profile args follow', () => {
  assert.equal(liveCmdline(profile({ kernel: { cmdline: { quiet: true, 'net.ifnames': 0 } } })), [
    'boot=live',
    'nomodeset',
    'overlay-size=70%',
    'systemd.unified_cgroup_hierarchy=0',
    'ds=ConfigDrive',
    'console=tty0',
    'console=ttyS0',
    'quiet',
    'net.ifnames=0',
  ]);
  const own = liveCmdline(
    profile({ iso: { cmdline: ['boot=live', 'console=ttyS0'] }, grub: { cmdline: ['iommu=pt'] } }),
  );
  assert.equal(own, ['boot=live', 'console=ttyS0'], 'grub.cmdline is for the disk only');
});

test('dedupeArgs: later wins by key; consoles only lose exact repeats; hugepage pairs stay', () => {
  assert.equal(dedupeArgs(['a=1', 'b', 'a=2']), ['b', 'a=2']);
  assert.equal(dedupeArgs(['console=ttyS0', 'console=tty0', 'console=ttyS0']), [
    'console=tty0',
    'console=ttyS0',
  ]);
  assert.equal(dedupeArgs(['hugepagesz=1G', 'hugepages=4', 'hugepagesz=2M', 'hugepages=4']), [
    'hugepagesz=1G',
    'hugepages=4',
    'hugepagesz=2M',
    'hugepages=4',
  ]);
});

test.run();
