/**
 * Issue 10, item 3: the ephemeral ISO is a Kubernetes node, as the original's was (the deployment
 * runs `kubeadm init` on it): kubelet, kubeadm, kubectl and containerd installed and enabled, and
 * AppArmor profiles loaded on the live system, which apparmor.service skips unless told otherwise.
 *
 * The test profile extends the shipped ephemeral profile with the same test settings as
 * the worker QCOW2 suite's (local pkgs.k8s.io mirror, DKMS, AppArmor profile...), so both have the
 * same package set and share one cached rootfs (in `npm test` both run on focal, 40-worker-focal then
 * 41-ephemeral-focal, and on bookworm in the release matrix, test/distros/*-bookworm).
 * The ISO is built with the check script as its config drive's user_data, inspected offline and
 * booted; every check of the QCOW2 suite is judged on the live system. IB_NATIVE_TEST_DISTRO picks the
 * distro (default debian-bookworm); not run by itself: 41-ephemeral-focal and test/distros import it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { secureBootSeen } from '../helpers/first-boot.ts';
import { ownScratch } from '../helpers/host.ts';
import {
  checkUserData,
  configDriveNetworkData,
  EPHEMERAL_PROFILE_NAME,
  EXPECT,
  KUBE_VERSION,
  setUpWorkerFixture,
  type WorkerFixture,
} from '../helpers/worker.ts';
import { bootNode, buildNode, CHECKS } from '../helpers/worker-node.ts';

const DIR = ownScratch('ephemeral');
const OUT = path.join(DIR, 'out-iso');
const IMAGE = path.join(OUT, `${EPHEMERAL_PROFILE_NAME}.iso`);

let fx: WorkerFixture | undefined;
const timings: string[] = [];

test.before(async () => {
  fx = await setUpWorkerFixture('ephemeral', 'ephemeral');
});

test.after(async () => {
  await fx?.close();
  if (timings.length) process.stdout.write(`\n41-ephemeral timings:\n  ${timings.join('\n  ')}\n`);
});

test('the ephemeral ISO builds with kubelet, kubeadm, kubectl (pinned) and the distro containerd', async () => {
  const userData = path.join(DIR, 'iso-user-data');
  writeFileSync(userData, checkUserData());
  const networkData = path.join(DIR, 'iso-network-data.json');
  writeFileSync(networkData, configDriveNetworkData());
  await buildNode(fx!, 'iso', OUT, timings, ['--user-data', userData, '--network-data', networkData]);
  const m = JSON.parse(readFileSync(path.join(OUT, `${EPHEMERAL_PROFILE_NAME}.manifest.json`), 'utf8'));
  const pkgs = new Map<string, string>(
    m.packages.map((p: { name: string; version: string }) => [p.name, p.version]),
  );
  for (const p of ['kubelet', 'kubeadm', 'kubectl'])
    assert.is(pkgs.get(p), KUBE_VERSION, `${p} in the manifest`);
  assert.ok(pkgs.has('containerd'), 'containerd not installed');
  assert.ok(pkgs.has('apparmor'), 'apparmor not installed');
});

test('the ISO offline: live cmdline, empty machine-id, no qcow2-only file, AppArmor drop-in, pin', async () => {
  const tmp = path.join(DIR, 'iso-inspect');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await execa('xorriso', ['-osirrox', 'on', '-indev', IMAGE, '-extract', '/live', path.join(tmp, 'live')]);
    await execa('xorriso', [
      '-osirrox',
      'on',
      '-indev',
      IMAGE,
      '-extract',
      '/boot/grub/grub.cfg',
      path.join(tmp, 'grub.cfg'),
    ]);
    const cfg = readFileSync(path.join(tmp, 'grub.cfg'), 'utf8');
    assert.match(cfg, /^\s*linux\s.*\bboot=live\b.*\bibn_test=on\b/m, `ISO grub.cfg:\n${cfg}`);
    // the live tree may be layered (live/filesystem.module lists the images, bottom first)
    const moduleFile = path.join(tmp, 'live/filesystem.module');
    const layers = (
      existsSync(moduleFile)
        ? readFileSync(moduleFile, 'utf8').split(/\s+/).filter(Boolean)
        : ['filesystem.squashfs']
    )
      .map((n) => path.join(tmp, 'live', n))
      .reverse();
    /** What the live system sees at a path: the top layer holding it (a whiteout means deleted). */
    const liveFile = async (f: string): Promise<string | undefined> => {
      for (const layer of layers) {
        const ls = await execa('unsquashfs', ['-lls', '-d', '', layer, f], { reject: false });
        const line = ls.stdout.split('\n').find((l) => l.endsWith(` ${f}`));
        if (!line) continue;
        if (line.startsWith('c')) return undefined; // overlayfs whiteout
        return (await execa('unsquashfs', ['-cat', layer, f])).stdout;
      }
      return undefined;
    };
    assert.is(await liveFile('/etc/machine-id'), '', '/etc/machine-id of the live system is not empty');
    assert.is(
      (await liveFile(EXPECT.commonFile.path))?.trim(),
      EXPECT.commonFile.content,
      EXPECT.commonFile.path,
    );
    assert.is(await liveFile(EXPECT.qcow2File.path), undefined, 'the qcow2-scoped file is in the ISO');
    assert.ok(await liveFile('/etc/apparmor.d/ibn-tool'), 'the AppArmor profile is not in the ISO');
    // the drop-in that lets apparmor.service run on a live system
    assert.match(
      (await liveFile('/etc/systemd/system/apparmor.service.d/ib-native-live.conf')) ?? '',
      /^ConditionPathExists=$/m,
      'the live AppArmor drop-in is not in the ISO',
    );
    assert.match(
      (await liveFile('/etc/apt/preferences.d/ib-native-kubernetes')) ?? '',
      /^Pin: version 1\.31\.1-\*$/m,
      'the Kubernetes pin is not in the ISO',
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

// UEFI with Secure Boot enforced (issue 14): the ISO boots through shim and the distro's signed CD
// GRUB (the BIOS path of the ISO is the same code as for Debian, booted by 20-minimal-boot)
test('the ISO boots with Secure Boot enforced (config drive) and runs the checks', async () => {
  const log = path.join(DIR, 'iso-secure-boot.console');
  await bootNode(IMAGE, 'iso', 'secure-boot', log, timings);
  const sb = secureBootSeen(readFileSync(log, 'utf8'));
  assert.is(sb?.state, 'enabled', `Secure Boot not enabled in the booted ISO: ${JSON.stringify(sb)}`);
});

for (const c of CHECKS) test(`iso: ${c.what}`, () => c.verify('iso'));

test.run();
