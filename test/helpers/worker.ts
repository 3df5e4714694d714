/**
 * The worker acceptance fixture (issue 3), shared by worker-qcow2.ts, ephemeral-iso.ts and 45-bad-profiles:
 * a signed local mirror of pkgs.k8s.io served on 127.0.0.1 (the flat repo of Kubernetes 1.31 at
 * core:/stable:/v1.31/deb/, its key as Release.key, fake kubelet/kubeadm/kubectl in two patch
 * versions plus cri-tools and kubernetes-cni), a test profile that extends a shipped profile
 * (worker or ephemeral) by path and asks for `kubernetes: { version, mirror, key }`, and the
 * boot-time check script.
 *
 * The GPG key is made once and kept under SCRATCH, and the server prefers a fixed port: both are
 * part of the rootfs cache key, so later runs (and 45-bad-profiles) reuse the worker rootfs.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildFakeDeb,
  ensureSigningKey,
  exportPublicKey,
  type FakePackage,
  indexAndSignFlat,
  type ServedRepo,
  serveRepo,
  stopGpgAgent,
} from './apt-repo.ts';
import { STATUS_RUNCMD, statusScriptFile } from './first-boot.ts';
import { DISTRO, REPO, SCRATCH } from './host.ts';

export { parseChecks } from './first-boot.ts';

/** What the test profile asks for: an exact patch, so the pin must pass over the newer one. */
export const KUBE_REQUEST = '1.31.1';
/** The package version the pin must choose, and the newer one in the same repo it must not. */
export const KUBE_VERSION = '1.31.1-1.1';
export const KUBE_NEWER = '1.31.2-1.1';
/** The repo's path on the mirror, as on pkgs.k8s.io. */
export const K8S_REPO_PATH = 'core:/stable:/v1.31/deb/';
export const PROFILE_NAME = 'ibn-worker';
/** The test profile that extends the shipped ephemeral instead (ephemeral-iso.ts). */
export const EPHEMERAL_PROFILE_NAME = 'ibn-ephemeral';
export const FIXTURES = path.join(REPO, 'test/fixtures');
export const DKMS_SOURCE = path.join(FIXTURES, 'dkms/ibn_hello');
export const CHECK_SCRIPT = path.join(FIXTURES, 'worker/ibn-check.sh');
/** Preferred port of the test repo (IBN_TEST_REPO_PORT); any free port when it is taken. */
const PREFERRED_PORT = Number(process.env.IBN_TEST_REPO_PORT ?? 47123);

/** What the test profile sets, so tests assert against the same values. */
export const EXPECT = {
  sysctl: { 'kernel.pid_max': '4194303', 'vm.max_map_count': '262145' },
  cmdlineToken: 'ibn_test=on',
  nofileSoft: '65533',
  nofileHard: '1048576',
  loadModule: 'dummy',
  blacklisted: 'floppy',
  apparmorProfile: 'ibn-tool',
  dkms: 'ibn_hello',
  kubeletArg: '--node-labels=ibn-test=yes',
  commonFile: { path: '/etc/ibn/common.conf', content: 'ibn-common-7c1e' },
  qcow2File: { path: '/etc/ibn/qcow2-only.conf', content: 'ibn-qcow2-5d2a' },
  /** Blocked: unattended-upgrades (inherited from base) and make, which dkms would otherwise pull in. */
  blocked: ['unattended-upgrades', 'make'],
} as const;

/** AppArmor's abi/3.0 exists from AppArmor 3 on (bookworm); focal's 2.13 has none and reads the profile without it. */
const APPARMOR_ABI = DISTRO === 'ubuntu-focal' ? '' : 'abi <abi/3.0>,\n';

export const APPARMOR_PROFILE = `${APPARMOR_ABI}include <tunables/global>

# ib-native test profile: a trivial confinement for a tool that does not even exist
profile ibn-tool /usr/local/bin/ibn-tool {
  include <abstractions/base>
  /usr/local/bin/ibn-tool mr,
  /etc/ibn/** r,
}
`;

const KUBELET_UNIT = `[Unit]
Description=kubelet: The Kubernetes Node Agent (ib-native test fake)
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

/** A fake binary: reports its version, otherwise (kubelet) stays up with its arguments visible. */
const fakeBinary = (name: string, version: string, body: string) =>
  `#!/bin/sh\n# fake ${name} ${version} for ib-native tests\nif [ "$1" = version ] || [ "$1" = --version ]; then echo "${name} v${version} (fake)"; exit 0; fi\n${body}\n`;

const EXE = 0o755;

/** The fake packages of one Kubernetes version, with pkgs.k8s.io's names and dependencies. */
function kubePackages(version: string): FakePackage[] {
  return [
    {
      name: 'kubelet',
      version,
      description: 'fake kubelet (sleeps forever) for ib-native tests',
      depends: 'kubernetes-cni (>= 1.1.1)',
      files: {
        'usr/bin/kubelet': {
          content: fakeBinary('kubelet', version, 'while :; do sleep 3600; done'),
          mode: EXE,
        },
        'lib/systemd/system/kubelet.service': { content: KUBELET_UNIT, mode: 0o644 },
      },
    },
    {
      name: 'kubeadm',
      version,
      description: 'fake kubeadm for ib-native tests',
      depends: 'cri-tools (>= 1.30.0)',
      files: { 'usr/bin/kubeadm': { content: fakeBinary('kubeadm', version, 'exit 0'), mode: EXE } },
    },
    {
      name: 'kubectl',
      version,
      description: 'fake kubectl for ib-native tests',
      files: { 'usr/bin/kubectl': { content: fakeBinary('kubectl', version, 'exit 0'), mode: EXE } },
    },
  ];
}

/** What kubeadm and kubelet depend on, from the same repo. */
const DEPENDENCIES: FakePackage[] = [
  {
    name: 'cri-tools',
    version: '1.31.1-1.1',
    description: 'fake crictl for ib-native tests',
    files: { 'usr/bin/crictl': { content: fakeBinary('crictl', '1.31.1', 'exit 0'), mode: EXE } },
  },
  {
    name: 'kubernetes-cni',
    version: '1.5.1-1.1',
    description: 'fake CNI plugins for ib-native tests',
    files: { 'opt/cni/bin/loopback': { content: fakeBinary('loopback', '1.5.1', 'exit 0'), mode: EXE } },
  },
];

export interface WorkerFixture {
  dir: string;
  profile: string;
  keyFile: string;
  /** The test key's fingerprint (the profile pins it). */
  fingerprint: string;
  repo: ServedRepo;
  close(): Promise<void>;
}

/** The test profile's source: `base` is the shipped profile it extends (worker, or ephemeral for the ISO). */
export function workerProfileSource(
  mirrorUrl: string,
  fingerprint: string,
  base: 'worker' | 'ephemeral' = 'worker',
  name = PROFILE_NAME,
): string {
  const parent = path.join(REPO, `profiles/${base}.ts`);
  return `/** ib-native test profile (issue 3): the shipped ${base}, made buildable and checkable here. */
import { defineProfile } from 'ib-native';

export default defineProfile({
  name: '${name}',
  extends: ${JSON.stringify(parent)},
  distro: '${DISTRO}',
  // the local mirror of pkgs.k8s.io, signed by the test key it serves as Release.key
  kubernetes: {
    version: '${KUBE_REQUEST}',
    mirror: ${JSON.stringify(mirrorUrl)},
    key: { url: ${JSON.stringify(`${mirrorUrl}${K8S_REPO_PATH}Release.key`)}, fingerprint: '${fingerprint}' },
  },
  blockedPackages: ['make'],
  sysctl: ${JSON.stringify(EXPECT.sysctl)},
  kernel: {
    cmdline: { ibn_test: 'on' },
    modules: { load: [{ name: '${EXPECT.loadModule}', args: { numdummies: 2 } }], blacklist: ['${EXPECT.blacklisted}'] },
  },
  limits: [{ name: 'nofile-all-soft', domain: '*', type: 'soft', item: 'nofile', value: ${EXPECT.nofileSoft} }],
  apparmor: { profiles: [{ name: '${EXPECT.apparmorProfile}', content: ${JSON.stringify(APPARMOR_PROFILE)} }] },
  dkms: [{ name: '${EXPECT.dkms}', version: '1.0', source: ${JSON.stringify(DKMS_SOURCE)} }],
  files: [
    { path: '${EXPECT.commonFile.path}', content: '${EXPECT.commonFile.content}\\n' },
    { path: '${EXPECT.qcow2File.path}', content: '${EXPECT.qcow2File.content}\\n', contexts: ['qcow2'] },
  ],
  kubelet: { extraArgs: { 'node-labels': 'ibn-test=yes' } },
  // kdump-tools.service builds its initrd (mkinitramfs) on first boot, as the image ships none:
  // under TCG that holds multi-user.target for well over 10 minutes. crashkernel= stays set.
  systemd: [{ name: 'kdump-tools.service', masked: true }],
});
`;
}

/**
 * Make the repo (fake debs, indexes, signatures), serve it, and write the test profile to
 * `<SCRATCH>/<name>/profile`. close() stops the server and the gpg-agent.
 */
export async function setUpWorkerFixture(
  name = 'worker',
  base: 'worker' | 'ephemeral' = 'worker',
): Promise<WorkerFixture> {
  const dir = path.join(SCRATCH, name);
  const gnupg = path.join(SCRATCH, 'worker-gnupg');
  const repoRoot = path.join(dir, 'repo');
  const profileDir = path.join(dir, 'profile');
  rmSync(repoRoot, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });

  const fpr = await ensureSigningKey(gnupg);
  const keyFile = path.join(profileDir, 'keys/ibn-test-repo.asc');
  await exportPublicKey(gnupg, fpr, keyFile);

  const flat = path.join(repoRoot, K8S_REPO_PATH);
  const work = path.join(dir, 'debs');
  for (const pkg of [...kubePackages(KUBE_VERSION), ...kubePackages(KUBE_NEWER), ...DEPENDENCIES])
    await buildFakeDeb(pkg, work, path.join(flat, 'amd64'));
  rmSync(work, { recursive: true, force: true });
  await indexAndSignFlat(flat, gnupg, fpr);
  await stopGpgAgent(gnupg);

  const repo = await serveRepo(repoRoot, PREFERRED_PORT);
  const profileName = base === 'worker' ? PROFILE_NAME : EPHEMERAL_PROFILE_NAME;
  const profile = path.join(profileDir, `${profileName}.ts`);
  writeFileSync(profile, workerProfileSource(repo.url, fpr, base, profileName));
  return {
    dir,
    profile,
    keyFile,
    fingerprint: fpr,
    repo,
    close: async () => {
      await repo.close();
      await stopGpgAgent(gnupg);
    },
  };
}

/**
 * The node's network, as a site gives it (matched by MAC: QEMU's first NIC is 52:54:00:12:34:56).
 * Without it cloud-init falls back to the first NIC it finds, and the fixture's `dummy` module
 * (numdummies=2) can make that `dummy0`: DHCP there never ends, and systemd-networkd-wait-online
 * fails the first boot (seen on the focal ephemeral ISO).
 */
export const NODE_MAC = '52:54:00:12:34:56';

/** NoCloud `network-config` (v2) for a QCOW2 boot's seed. */
export function seedNetworkConfig(): string {
  return `version: 2\nethernets:\n  nic0:\n    match:\n      macaddress: "${NODE_MAC}"\n    dhcp4: true\n`;
}

/** The config drive's network_data.json (OpenStack) for an ISO build. */
export function configDriveNetworkData(): string {
  return `${JSON.stringify({
    links: [{ id: 'nic0', type: 'phy', ethernet_mac_address: NODE_MAC }],
    networks: [{ id: 'net0', type: 'ipv4_dhcp', link: 'nic0', network_id: 'net0' }],
    services: [],
  })}\n`;
}

/**
 * #cloud-config that installs the check script and runs it (NoCloud seed or config drive), then
 * the first-boot status script, whose report ends with IBN-CHECKS-DONE.
 */
export function checkUserData(): string {
  const script = readFileSync(CHECK_SCRIPT).toString('base64');
  return [
    '#cloud-config',
    'write_files:',
    '  - path: /usr/local/sbin/ibn-check',
    "    permissions: '0755'",
    '    encoding: b64',
    `    content: ${script}`,
    ...statusScriptFile(),
    'runcmd:',
    '  - [ /bin/sh, /usr/local/sbin/ibn-check ]',
    STATUS_RUNCMD,
    '',
  ].join('\n');
}
