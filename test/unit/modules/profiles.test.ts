import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diskCmdline, liveCmdline } from '../../../src/modules/grub.ts';
import { planProfile } from '../../../src/modules/index.ts';
import { kubernetesRepo } from '../../../src/modules/kubernetes.ts';
import { resolveProfile } from '../../../src/profile/resolve.ts';

const paths = (p: { ops: { kind: string; path?: string }[] }) =>
  p.ops.flatMap((o) => (o.path ? [o.path] : []));

test('base: the original defaults, and a plan without problems', async () => {
  const p = await resolveProfile('base');
  assert.is(p.distro, 'ubuntu-focal');
  assert.ok(!p.packages.some((n) => n.startsWith('linux-image')), 'the kernel comes from the distro');
  assert.ok(p.packages.includes('cloud-init') && p.packages.includes('kdump-tools'));
  assert.is(Object.keys(p.sysctl ?? {}).length, 24);
  assert.equal(p.kernel?.modules?.blacklist, ['krbd']);
  assert.equal(p.blockedPackages, ['unattended-upgrades', 'systemd-timesyncd']);
  assert.is(p.disk?.partitions?.[0]?.mountpoint, '/', 'root is partition 1 (Ironic)');
  const plan = planProfile(p);
  for (const file of [
    '/etc/sysctl.d/99-ib-native.conf',
    '/etc/default/grub',
    '/etc/default/grub.d/kdump-tools.cfg',
    '/etc/modprobe.d/99-blacklist-krbd.conf',
    '/etc/security/limits.d/99-core_dump.conf',
    '/etc/cloud/cloud.cfg.d/90_override_renderer.cfg',
    '/etc/systemd/network/99-default.link',
    '/etc/apt/preferences.d/ib-native-blocked',
    '/etc/machine-id',
  ])
    assert.ok(paths(plan).includes(file), file);
  const cmdline = diskCmdline(p);
  assert.ok(cmdline.includes('crashkernel=768M') && cmdline.includes('apparmor=1'));
  assert.is(
    cmdline.filter((t) => t.startsWith('console=')).pop(),
    'console=ttyS0,115200n8',
    'serial console last',
  );
});

test('ephemeral: base as an ISO whose live command line ends on the serial console', async () => {
  const p = await resolveProfile('ephemeral');
  assert.equal(p.formats, ['iso']);
  assert.equal(
    p.sources.map((s) => path.basename(s)),
    ['base.ts', 'ephemeral.ts'],
  );
  assert.is(
    liveCmdline(p)
      .filter((t) => t.startsWith('console='))
      .pop(),
    'console=ttyS0',
  );
  assert.ok(planProfile(p).ops.length > 0);
});

for (const name of ['worker', 'control-plane', 'ephemeral'])
  test(`${name}: a Kubernetes node: kubelet, kubeadm, kubectl 1.31 from pkgs.k8s.io (pinned key), distro containerd`, async () => {
    const p = await resolveProfile(name);
    assert.equal(p.formats, name === 'ephemeral' ? ['iso'] : ['qcow2']);
    assert.equal(p.kubernetes, { version: '1.31' });
    assert.is(p.kubelet?.version, undefined);
    assert.equal(p.repos ?? [], [], 'no hand-written repos (no Docker repo, no key files to place)');
    assert.equal(kubernetesRepo(p), {
      name: 'kubernetes',
      url: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/',
      suite: '/',
      key: {
        url: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/Release.key',
        fingerprint: 'DE15B14486CD377B9E876E1A234654DA9A296436',
      },
      packages: ['kubelet', 'kubeadm', 'kubectl'],
    });
    assert.is(p.containerd?.package, 'containerd');
    assert.is(p.containerd?.enabled, true);
    assert.is(p.kubelet?.enabled, true);
    const plan = planProfile(p);
    assert.ok(plan.packages.includes('containerd'));
    assert.not.ok(plan.packages.includes('containerd.io'));
    for (const file of [
      '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
      '/etc/containerd/config.toml',
      '/etc/apt/preferences.d/ib-native-kubernetes',
    ])
      assert.ok(paths(plan).includes(file), file);
    const units = plan.ops.flatMap((o) => (o.kind === 'unit' ? [`${o.name} ${o.action}`] : []));
    assert.ok(units.includes('kubelet.service enable') && units.includes('containerd.service enable'));
  });

test.run();
