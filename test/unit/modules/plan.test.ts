import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../../src/errors.ts';
import { findConflicts, mergePackages } from '../../../src/modules/conflicts.ts';
import { MODULES, planProfile } from '../../../src/modules/index.ts';
import { ops } from '../../../src/ops/types.ts';
import type { ProfileInput } from '../../../src/profile/schema.ts';
import { profile } from './helpers.ts';

function issuesOf(fields: Omit<ProfileInput, 'name'>): { path: string; message: string }[] {
  try {
    planProfile(profile(fields, ['/profiles/site.ts']));
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.is((e as ValidationError).source, '/profiles/site.ts');
    return [...(e as ValidationError).issues];
  }
  return [];
}

test('MODULES: unique names, user lists after the fixed-purpose modules, finalize last', () => {
  const names = MODULES.map((m) => m.name);
  assert.is(new Set(names).size, names.length);
  assert.is(names[names.length - 1], 'finalize');
  for (const fixed of ['sysctl', 'grub', 'kubelet', 'banners', 'nicNaming'])
    for (const user of ['files', 'systemd', 'users', 'userScripts'])
      assert.ok(names.indexOf(fixed) < names.indexOf(user), `${fixed} before ${user}`);
});

test("planProfile: ops of every module in order; packages of the profile and the modules (the engine installs repos' own)", () => {
  const { ops: planned, packages } = planProfile(
    profile({
      packages: ['curl', 'kubelet'],
      sysctl: { 'kernel.panic': 3 },
      files: [{ path: '/etc/motd', content: 'hi\n' }],
      kubelet: { enabled: true, version: '1.21.2-00' },
      repos: [
        {
          name: 'k8s',
          url: 'http://127.0.0.1/k8s',
          suite: 's',
          trusted: true,
          packages: ['kubeadm=1.21.2-00', 'cri-tools'],
        },
      ],
    }),
  );
  const modules = [...new Set(planned.map((o) => o.module))];
  assert.equal(modules, ['sysctl', 'kubelet', 'hostname', 'files', 'finalize']);
  // the distro's signed boot chain comes with Secure Boot, on by default
  assert.equal(packages, [
    'curl',
    'kubelet=1.21.2-00',
    'shim-signed',
    'grub-efi-amd64-signed',
    'kubeadm=1.21.2-00',
    'kubectl=1.21.2-00',
  ]);
});

test('planProfile: a user file over a module file names both modules and the path', () => {
  const issues = issuesOf({
    grub: { timeout: 5 },
    files: [{ path: '/etc/default/grub', content: 'GRUB_TIMEOUT=0\n' }],
  });
  assert.equal(issues, [
    {
      path: '/etc/default/grub',
      message: 'grub writes it, but files writes it differently (context common)',
    },
  ]);
});

test('planProfile: a write against a remove, a mask or another unit state conflicts', () => {
  const issues = issuesOf({
    banners: { motd: '#!/bin/sh\n' },
    cloudInit: { maskSshSocket: true },
    kubelet: { enabled: true, version: '1.21.2-00' },
    files: [
      { path: '/etc/default/motd-news', content: 'ENABLED=1\n' },
      { path: '/etc/systemd/system/ssh.socket', content: '[Socket]\n' },
    ],
    systemd: [{ name: 'kubelet.service', enabled: false }],
  });
  assert.equal(issues, [
    { path: '/etc/default/motd-news', message: 'banners removes it, but files writes it (context common)' },
    {
      path: '/etc/systemd/system/ssh.socket',
      message: 'cloudInit masks ssh.socket (a link to /dev/null), but files writes it (context common)',
    },
    { path: 'unit kubelet.service', message: 'kubelet enables it, but systemd disables it (context common)' },
  ]);
});

test("planProfile: identical writes, other contexts and a module's own temporary files are fine", () => {
  const { ops: planned } = planProfile(
    profile({
      files: [
        { path: '/etc/hostname', content: 'localhost\n', mode: '0644' },
        { path: '/etc/site', content: 'iso\n', contexts: ['iso'] },
        { path: '/etc/site', content: 'qcow2\n', contexts: ['qcow2'] },
      ],
      userScripts: [{ name: 'setup', content: 'true\n' }],
    }),
  );
  assert.ok(planned.some((o) => o.module === 'userScripts' && o.kind === 'remove'));
  const same = issuesOf({
    files: [
      { path: '/etc/site', content: 'a\n' },
      { path: '/etc/site', content: 'b\n', contexts: ['common', 'iso'] },
    ],
  });
  assert.equal(same, [{ path: '/etc/site', message: 'files writes it, then writes it (context common)' }]);
});

test('planProfile: every problem at once (validation, pins, blocked packages, conflicts)', () => {
  const issues = issuesOf({
    packages: ['kubelet=1.20.0-00', 'systemd-timesyncd'],
    blockedPackages: ['systemd-timesyncd'],
    kubelet: { enabled: true, version: '1.21.2-00' },
    kdump: { enabled: true },
    files: [{ path: '/etc/machine-id', content: 'abc\n' }],
  });
  assert.equal(
    issues.map((i) => i.path),
    ['kdump.crashkernel', 'packages[0]', 'packages', 'blockedPackages', '/etc/machine-id'],
  );
  assert.match(issues[2]!.message, /kubelet is pinned both as kubelet=1.20.0-00 and as kubelet=1.21.2-00/);
  assert.match(issues[4]!.message, /^files writes it, but finalize writes it differently/);
});

test('findConflicts: chmod against chmod, and copies, are compared too', () => {
  const all = [
    ...ops(
      'a',
      undefined,
      { kind: 'chmod', path: '/x', mode: '0600' },
      { kind: 'copyIn', source: '/h/1', path: '/y' },
    ),
    ...ops('b', ['disk'], { kind: 'chmod', path: '/x', mode: '0600' }),
    ...ops(
      'b',
      undefined,
      { kind: 'chmod', path: '/x', mode: '0644' },
      { kind: 'copyIn', source: '/h/2', path: '/y' },
    ),
  ];
  assert.equal(
    findConflicts(all).map((i) => i.path),
    ['mode of /x', '/y'],
  );
});

test('mergePackages: unpinned requests give way to a pin; duplicates dropped', () => {
  assert.equal(mergePackages(['vim', 'kubelet', 'vim', 'kubelet=1.21.2-00', 'kubelet']), {
    packages: ['vim', 'kubelet=1.21.2-00'],
    issues: [],
  });
});

test.run();
