/**
 * Issue 3 and issue 10, acceptance: a worker node behaves as its profile says.
 *
 * A local mirror of pkgs.k8s.io (the flat, signed repo of Kubernetes 1.31 with fake kubelet,
 * kubeadm and kubectl 1.31.1-1.1 and 1.31.2-1.1) is served on 127.0.0.1; a test profile extends
 * the shipped worker profile by path and asks for `kubernetes: { version: '1.31.1', mirror, key:
 * { url, fingerprint } }` (containerd from the distro; sysctl, kernel modules, limits, AppArmor,
 * DKMS, blocked packages, per-context files, kernel command line, kubelet arguments). The QCOW2 is
 * built, inspected offline, and booted with a cloud-init check script that prints `IBN-CHECK name
 * value` lines on the serial console; each fact is then judged by its own test, so a failure names
 * what is wrong. ephemeral-iso.ts does the same for the ISO. IB_NATIVE_TEST_DISTRO picks the distro.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CACHE, ownScratch } from '../helpers/host.ts';
import {
  checkUserData,
  EXPECT,
  K8S_REPO_PATH,
  KUBE_NEWER,
  KUBE_VERSION,
  PROFILE_NAME,
  seedNetworkConfig,
  setUpWorkerFixture,
  type WorkerFixture,
} from '../helpers/worker.ts';
import { bootNode, buildNode, CHECKS, consoles } from '../helpers/worker-node.ts';

const DIR = ownScratch('worker');
const OUT = path.join(DIR, 'out-qcow2');
const IMAGE = path.join(OUT, `${PROFILE_NAME}.qcow2`);

let fx: WorkerFixture | undefined;
const timings: string[] = [];

test.before(async () => {
  fx = await setUpWorkerFixture('worker');
});

test.after(async () => {
  await fx?.close();
  if (timings.length) process.stdout.write(`\nworker QCOW2 timings:\n  ${timings.join('\n  ')}\n`);
});

function manifestPackages(): Map<string, string> {
  const m = JSON.parse(readFileSync(path.join(OUT, `${PROFILE_NAME}.manifest.json`), 'utf8'));
  return new Map(m.packages.map((p: { name: string; version: string }) => [p.name, p.version]));
}

// ---------------------------------------------------------------- the local repo

test('the test mirror has the pkgs.k8s.io layout: a flat repo, signed, its key as Release.key', async () => {
  const root = path.join(DIR, 'repo', K8S_REPO_PATH);
  const keyring = path.join(DIR, 'verify.gpg');
  await execa('gpg', ['--batch', '--yes', '--dearmor', '--output', keyring, path.join(root, 'Release.key')]);
  try {
    for (const args of [
      [path.join(root, 'InRelease')],
      [path.join(root, 'Release.gpg'), path.join(root, 'Release')],
    ]) {
      const v = await execa('gpgv', ['--keyring', keyring, ...args], { reject: false, all: true });
      assert.is(v.exitCode, 0, `gpgv ${args.join(' ')}:\n${v.all}`);
    }
  } finally {
    rmSync(keyring, { force: true });
  }
  assert.not.ok(existsSync(path.join(DIR, 'repo/dists')), 'a flat repo has no dists/');
  const packages = readFileSync(path.join(root, 'Packages'), 'utf8');
  for (const p of ['kubelet', 'kubeadm', 'kubectl'])
    for (const v of [KUBE_VERSION, KUBE_NEWER]) {
      const stanza = packages
        .split('\n\n')
        .find((s) => s.startsWith(`Package: ${p}\n`) && s.includes(`\nVersion: ${v}\n`));
      assert.ok(stanza, `${p} ${v} not in the repo's Packages index`);
      assert.match(stanza!, new RegExp(`^Filename: amd64/${p}_${v}_amd64\\.deb$`, 'm'));
    }
});

// ---------------------------------------------------------------- QCOW2

/**
 * apt reuses a cached .deb on size alone: plant a same-size, tampered kubelet in the shared package
 * cache (as a repo that republished the version would leave it); a rootfs build must notice it
 * against the signed index, throw it away and download the real one.
 */
function plantTamperedKubelet(): string {
  const name = `kubelet_${KUBE_VERSION}_amd64.deb`;
  const real = readFileSync(path.join(fx!.dir, 'repo', K8S_REPO_PATH, 'amd64', name));
  const bad = Buffer.from(real);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
  const planted = path.join(CACHE, 'packages', name);
  mkdirSync(path.dirname(planted), { recursive: true });
  writeFileSync(planted, bad);
  return planted;
}

test('the worker QCOW2 builds from the local pkgs.k8s.io mirror (pinned patch) and the distro', async () => {
  const planted = plantTamperedKubelet();
  const r = await buildNode(fx!, 'qcow2', OUT, timings);
  if (/rootfs: reused from cache/.test(r.all)) rmSync(planted, { force: true });
  else
    assert.match(
      r.all,
      /differ from the signed index and will be downloaded again: .*kubelet_/,
      'the tampered cached kubelet was not reported',
    );
  const pkgs = manifestPackages();
  for (const p of ['kubelet', 'kubeadm', 'kubectl'])
    assert.is(pkgs.get(p), KUBE_VERSION, `${p} version in the manifest (the pin, not ${KUBE_NEWER})`);
  for (const p of ['cri-tools', 'kubernetes-cni'])
    assert.ok(pkgs.has(p), `${p} (a dependency) not installed`);
  // containerd from the distro, not Docker's containerd.io
  assert.ok(pkgs.has('containerd'), 'containerd not installed');
  assert.not.ok(pkgs.has('containerd.io'), 'containerd.io installed');
  assert.ok(pkgs.has('dkms'), 'dkms not installed');
  for (const p of EXPECT.blocked) assert.not.ok(pkgs.has(p), `blocked package ${p} installed`);
});

test('the QCOW2 offline: grub.cfg has the cmdline, machine-id is empty, files are there', async () => {
  const raw = path.join(DIR, 'inspect.raw');
  await execa('qemu-img', ['convert', '-O', 'raw', IMAGE, raw]);
  try {
    const parts = (await execa('sgdisk', ['--print', raw])).stdout;
    const start = new Map<string, number>();
    for (const m of parts.matchAll(/^\s+\d+\s+(\d+)\s+\d+\s+.*\s(\S+)$/gm))
      start.set(m[2]!, Number(m[1]) * 512);
    assert.ok(start.has('root') && start.has('boot'), `unexpected partition table:\n${parts}`);
    // debugfs opens a filesystem at a byte offset inside the disk image: no loop device, no mount
    const fs = (name: string) => `${raw}?offset=${start.get(name)}`;
    const debugfs = async (name: string, cmd: string) => {
      const r = await execa('debugfs', ['-R', cmd, fs(name)], { reject: false });
      return { out: r.stdout, err: r.stderr };
    };
    const grub = (await debugfs('boot', 'cat /grub/grub.cfg')).out;
    assert.match(grub, /^\s*linux\s.*\bibn_test=on\b/m, `grub.cfg lacks ${EXPECT.cmdlineToken}:\n${grub}`);
    assert.match(grub, /^\s*linux\s.*\bapparmor=1 security=apparmor\b/m, 'grub.cfg lacks the AppArmor args');
    assert.match(grub, /^\s*linux\s.*\bcrashkernel=768M\b/m, "grub.cfg lacks the worker's crashkernel=768M");
    const defaults = (await debugfs('root', 'cat /etc/default/grub')).out;
    assert.match(defaults, /^GRUB_CMDLINE_LINUX_DEFAULT=".*\bibn_test=on\b.*"$/m, '/etc/default/grub');
    const machineId = await debugfs('root', 'stat /etc/machine-id');
    assert.match(
      machineId.out,
      /Type: regular/,
      `/etc/machine-id is not a file:\n${machineId.out}${machineId.err}`,
    );
    assert.is(
      /^User:.*\bSize: (\d+)$/m.exec(machineId.out)?.[1],
      '0',
      `/etc/machine-id is not empty:\n${machineId.out}`,
    );
    const qcowFile = (await debugfs('root', `cat ${EXPECT.qcow2File.path}`)).out;
    assert.is(qcowFile.trim(), EXPECT.qcow2File.content);
    const blocked = (await debugfs('root', 'cat /etc/apt/preferences.d/ib-native-blocked')).out;
    for (const p of EXPECT.blocked)
      assert.match(blocked, new RegExp(`^Package: ${p}\\nPin: origin \\*\\nPin-Priority: -1$`, 'm'));
    const pin = (await debugfs('root', 'cat /etc/apt/preferences.d/ib-native-kubernetes')).out;
    assert.match(pin, /^Package: kubelet kubeadm kubectl\nPin: version 1\.31\.1-\*\nPin-Priority: 1001$/m);
    const source = (await debugfs('root', 'cat /etc/apt/sources.list.d/kubernetes.sources')).out;
    assert.match(source, new RegExp(`^URIs: ${fx!.repo.url}${K8S_REPO_PATH}$`, 'm'), source);
    assert.match(source, /^Suites: \/$/m, source);
    assert.not.match(source, /^Components:/m, source);
  } finally {
    rmSync(raw, { force: true });
  }
});

test('the QCOW2 boots (NoCloud seed) and runs the checks', async () => {
  const seed = path.join(DIR, 'seed');
  rmSync(seed, { recursive: true, force: true });
  mkdirSync(seed, { recursive: true });
  writeFileSync(path.join(seed, 'user-data'), checkUserData());
  writeFileSync(
    path.join(seed, 'meta-data'),
    'instance-id: iid-ibn-worker-qcow2\nlocal-hostname: ibn-worker\n',
  );
  writeFileSync(path.join(seed, 'network-config'), seedNetworkConfig());
  await bootNode(IMAGE, 'qcow2', 'bios', path.join(DIR, 'qcow2-bios.console'), timings, seed);
});

for (const c of CHECKS) test(`qcow2: ${c.what}`, () => c.verify('qcow2'));

test('qcow2: the initramfs checked the root filesystem before mounting it', () => {
  const text = consoles.qcow2 ?? '';
  assert.ok(text, 'no console from the qcow2 boot (did it fail?)');
  assert.not.match(text, /fsck not present/, 'the initramfs has no fsck');
  assert.match(text, /clean, \d+\/\d+ files/, 'no fsck of the root filesystem on the console');
});

test('the QCOW2 boot left the image untouched', async () => {
  const recorded = readFileSync(`${IMAGE}.sha256`, 'utf8').split(' ')[0];
  const now = (await execa('sha256sum', [IMAGE])).stdout.split(' ')[0];
  assert.is(now, recorded);
});

test.run();
