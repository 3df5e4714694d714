import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyRemovals, mergeProfiles } from '../../../src/profile/merge.ts';

test('plain lists append and drop duplicates; a pinned package replaces the unpinned one', () => {
  assert.equal(
    mergeProfiles(
      { packages: ['vim', 'curl', 'kubelet'] },
      { packages: ['curl', 'jq', 'kubelet=1.21.2-00'] },
    ),
    {
      packages: ['vim', 'curl', 'jq', 'kubelet=1.21.2-00'],
    },
  );
  // and a child's other pin replaces the parent's
  assert.equal(mergeProfiles({ packages: ['a=1', 'b'] }, { packages: ['a=2'] }), { packages: ['b', 'a=2'] });
  assert.equal(mergeProfiles({ blockedPackages: ['snapd'] }, { blockedPackages: ['snapd', 'x'] }), {
    blockedPackages: ['snapd', 'x'],
  });
});

test('non-package lists compare whole entries: a child console= does not drop the inherited ones', () => {
  assert.equal(
    mergeProfiles(
      { grub: { cmdline: ['console=tty0', 'console=ttyS0,115200n8', 'quiet'] } },
      { grub: { cmdline: ['console=hvc0', 'quiet'] } },
    ),
    { grub: { cmdline: ['console=tty0', 'console=ttyS0,115200n8', 'console=hvc0', 'quiet'] } },
  );
  // repo package lists are package lists
  assert.equal(mergeProfiles({ kernel: { packages: ['a'] } }, { kernel: { packages: ['a=1'] } }), {
    kernel: { packages: ['a=1'] },
  });
});

test('keyed lists: an entry with the same key replaces the inherited one in place, others append', () => {
  const parent = {
    repos: [
      { name: 'a', url: 'http://a/1', packages: ['x'] },
      { name: 'b', url: 'http://b' },
    ],
    files: [
      { path: '/etc/one', content: '1' },
      { path: '/etc/two', content: '2' },
    ],
  };
  const child = {
    repos: [
      { name: 'c', url: 'http://c' },
      { name: 'a', url: 'http://a/2' },
    ],
    files: [{ path: '/etc/two', content: 'two' }],
  };
  assert.equal(mergeProfiles(parent, child), {
    repos: [
      { name: 'a', url: 'http://a/2' },
      { name: 'b', url: 'http://b' },
      { name: 'c', url: 'http://c' },
    ],
    files: [
      { path: '/etc/one', content: '1' },
      { path: '/etc/two', content: 'two' },
    ],
  });
});

test('keyed lists nested in maps: kernel.modules.load by name, next to a plain blacklist', () => {
  const merged = mergeProfiles(
    {
      kernel: {
        modules: {
          load: [{ name: 'br_netfilter' }, { name: 'bonding', args: { mode: 1 } }],
          blacklist: ['floppy'],
        },
      },
    },
    {
      kernel: {
        modules: { load: [{ name: 'bonding', args: { mode: 4 } }, { name: 'vfio' }], blacklist: ['pcspkr'] },
      },
    },
  );
  assert.equal(merged, {
    kernel: {
      modules: {
        load: [{ name: 'br_netfilter' }, { name: 'bonding', args: { mode: 4 } }, { name: 'vfio' }],
        blacklist: ['floppy', 'pcspkr'],
      },
    },
  });
});

test('maps merge key by key (recursively), scalars replace, whole-replaced lists replace', () => {
  const parent = {
    name: 'base',
    hostname: 'localhost',
    sysctl: { 'vm.swappiness': 10, 'net.ipv4.ip_forward': 0 },
    grub: { timeout: 10, terminal: 'serial console' },
    formats: ['iso', 'qcow2'],
    cloudInit: { renderers: ['netplan', 'eni'], maskSshSocket: true },
  };
  const child = {
    name: 'child',
    hostname: 'node',
    sysctl: { 'net.ipv4.ip_forward': 1 },
    grub: { timeout: 0 },
    formats: ['qcow2'],
    cloudInit: { renderers: ['networkd'] },
    extends: 'base',
    remove: { packages: ['x'] },
  };
  assert.equal(mergeProfiles(parent, child), {
    name: 'child',
    hostname: 'node',
    sysctl: { 'vm.swappiness': 10, 'net.ipv4.ip_forward': 1 },
    grub: { timeout: 0, terminal: 'serial console' },
    formats: ['qcow2'],
    cloudInit: { renderers: ['networkd'], maskSshSocket: true },
  });
  // inputs untouched
  assert.equal(parent.sysctl, { 'vm.swappiness': 10, 'net.ipv4.ip_forward': 0 });
});

test('an undefined field in the child inherits; it does not erase the parent value', () => {
  assert.equal(
    mergeProfiles(
      { repos: [{ name: 'a' }], hostname: 'h', grub: { timeout: 1 } },
      { repos: undefined, hostname: undefined, grub: { timeout: undefined, terminal: 'serial' } },
    ),
    { repos: [{ name: 'a' }], hostname: 'h', grub: { timeout: 1, terminal: 'serial' } },
  );
});

test('applyRemovals: drops entries by package name, map key and entry key; reports what matched nothing', () => {
  const profile = {
    packages: ['vim', 'kubelet=1.21.2-00', 'curl'],
    sysctl: { 'vm.swappiness': 10, 'net.ipv4.ip_forward': 1 },
    repos: [{ name: 'a' }, { name: 'b' }],
    kernel: { modules: { load: [{ name: 'bonding' }, { name: 'vfio' }] } },
  };
  const { result, unmatched } = applyRemovals(profile, {
    packages: ['kubelet', 'nano'],
    sysctl: ['vm.swappiness'],
    repos: ['b'],
    'kernel.modules.load': ['bonding'],
    'grub.cmdline': ['quiet'],
  });
  assert.equal(result, {
    packages: ['vim', 'curl'],
    sysctl: { 'net.ipv4.ip_forward': 1 },
    repos: [{ name: 'a' }],
    kernel: { modules: { load: [{ name: 'vfio' }] } },
  });
  assert.equal(unmatched, ['packages: nano', 'grub.cmdline: quiet']);
  // the input is not modified
  assert.equal(profile.packages, ['vim', 'kubelet=1.21.2-00', 'curl']);
});

test('applyRemovals: an exact entry of a plain list wins over the first entry with the same name', () => {
  const { result, unmatched } = applyRemovals(
    { grub: { cmdline: ['console=tty0', 'console=ttyS0,115200n8', 'quiet'] } },
    { 'grub.cmdline': ['console=ttyS0,115200n8'] },
  );
  assert.equal(unmatched, []);
  assert.equal(result, { grub: { cmdline: ['console=tty0', 'quiet'] } });
});

test.run();
