import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../../src/errors.ts';
import { diskCmdline, liveCmdline } from '../../../src/modules/grub.ts';
import { planProfile } from '../../../src/modules/index.ts';
import { PROFILES_DIR } from '../../../src/profile/load.ts';
import { type ResolvedProfile, resolveProfile } from '../../../src/profile/resolve.ts';

const paths = (p: { ops: { kind: string; path?: string }[] }) =>
  p.ops.flatMap((o) => (o.path ? [o.path] : []));

/** The profile with each repo key replaced by a throwaway file, as if the operator had dropped the keys in. */
function withKeys(p: ResolvedProfile): ResolvedProfile {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-keys-'));
  const repos = (p.repos ?? []).map((r) => {
    const key = path.join(dir, `${r.name}.asc`);
    writeFileSync(key, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n');
    return { ...r, key };
  });
  return { ...p, repos };
}

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

for (const name of ['worker', 'control-plane'])
  test(`${name}: QCOW2 with containerd and kubelet 1.21.2 from signed repos`, async () => {
    const p = await resolveProfile(name);
    assert.equal(p.formats, ['qcow2']);
    assert.is(p.kubelet?.version, '1.21.2-00');
    assert.equal(
      p.repos?.map((r) => r.key),
      [path.join(PROFILES_DIR, 'keys/kubernetes.asc'), path.join(PROFILES_DIR, 'keys/docker.asc')],
    );
    if (!existsSync(path.join(PROFILES_DIR, 'keys/kubernetes.asc'))) {
      try {
        planProfile(p);
        assert.unreachable('planning without the repo keys must fail');
      } catch (e) {
        assert.instance(e, ValidationError);
        assert.match(
          (e as Error).message,
          /repos\[0\]\.key: key file .*kubernetes.asc not found; see .*keys\/README.md/,
        );
      }
    }
    const plan = planProfile(withKeys(p));
    assert.ok(plan.packages.includes('kubelet=1.21.2-00') && plan.packages.includes('containerd.io'));
    assert.ok(paths(plan).includes('/etc/systemd/system/kubelet.service.d/10-kubeadm.conf'));
    assert.ok(paths(plan).includes('/etc/containerd/config.toml'));
  });

test.run();
