/**
 * The worker acceptance fixture (issue 3), shared by 40-worker and 45-bad-profiles:
 * a signed local apt repo with fake kubelet/kubeadm/kubectl 1.21.2-00 served on 127.0.0.1, a
 * test profile that extends the shipped worker profile by path, and the boot-time check script.
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
  indexAndSign,
  type ServedRepo,
  serveRepo,
  stopGpgAgent,
} from './apt-repo.ts';
import { REPO, SCRATCH } from './host.ts';

export const KUBE_VERSION = '1.21.2-00';
export const PROFILE_NAME = 'ibn-worker';
export const FIXTURES = path.join(REPO, 'test/fixtures');
export const DKMS_SOURCE = path.join(FIXTURES, 'dkms/ibn_hello');
export const CHECK_SCRIPT = path.join(FIXTURES, 'worker/ibn-check.sh');
/** Preferred port of the test repo (IBN_TEST_REPO_PORT); any free port when it is taken. */
const PREFERRED_PORT = Number(process.env.IBN_TEST_REPO_PORT ?? 47123);
const SUITE = 'kubernetes-xenial';

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

export const APPARMOR_PROFILE = `abi <abi/3.0>,
include <tunables/global>

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
const fakeBinary = (name: string, body: string) =>
  `#!/bin/sh\n# fake ${name} ${KUBE_VERSION} for ib-native tests\nif [ "$1" = version ] || [ "$1" = --version ]; then echo "${name} v1.21.2 (fake)"; exit 0; fi\n${body}\n`;

export interface WorkerFixture {
  dir: string;
  profile: string;
  keyFile: string;
  repo: ServedRepo;
  close(): Promise<void>;
}

/** The test profile's source (a .ts file in `dir`, key in `dir/keys`). */
export function workerProfileSource(repoUrl: string): string {
  const worker = path.join(REPO, 'profiles/worker.ts');
  return `/** ib-native test profile (issue 3): the shipped worker, made buildable and checkable here. */
import { defineProfile } from 'ib-native';

export default defineProfile({
  name: '${PROFILE_NAME}',
  extends: ${JSON.stringify(worker)},
  distro: 'debian-bookworm',
  repos: [
    {
      name: 'kubernetes',
      url: ${JSON.stringify(repoUrl)},
      suite: '${SUITE}',
      components: ['main'],
      key: './keys/ibn-test-repo.asc',
      packages: ['kubelet', 'kubeadm', 'kubectl'].map((p) => \`\${p}=${KUBE_VERSION}\`),
    },
  ],
  // Docker's repo is unreachable here; Debian bookworm has containerd itself
  remove: { repos: ['docker'] },
  containerd: { package: 'containerd' },
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
export async function setUpWorkerFixture(name = 'worker'): Promise<WorkerFixture> {
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

  const pool = path.join(repoRoot, 'pool/main/k');
  const work = path.join(dir, 'debs');
  const exe = 0o755;
  await buildFakeDeb(
    {
      name: 'kubelet',
      version: KUBE_VERSION,
      description: 'fake kubelet (sleeps forever) for ib-native tests',
      files: {
        'usr/bin/kubelet': { content: fakeBinary('kubelet', 'while :; do sleep 3600; done'), mode: exe },
        'lib/systemd/system/kubelet.service': { content: KUBELET_UNIT, mode: 0o644 },
      },
    },
    work,
    pool,
  );
  for (const tool of ['kubeadm', 'kubectl'])
    await buildFakeDeb(
      {
        name: tool,
        version: KUBE_VERSION,
        description: `fake ${tool} for ib-native tests`,
        ...(tool === 'kubeadm' ? { depends: 'kubelet (>= 1.19.0), kubectl (>= 1.19.0)' } : {}),
        files: { [`usr/bin/${tool}`]: { content: fakeBinary(tool, 'exit 0'), mode: exe } },
      },
      work,
      pool,
    );
  rmSync(work, { recursive: true, force: true });
  await indexAndSign({ root: repoRoot, suite: SUITE, component: 'main' }, gnupg, fpr);
  await stopGpgAgent(gnupg);

  const repo = await serveRepo(repoRoot, PREFERRED_PORT);
  const profile = path.join(profileDir, `${PROFILE_NAME}.ts`);
  writeFileSync(profile, workerProfileSource(repo.url));
  return {
    dir,
    profile,
    keyFile,
    repo,
    close: async () => {
      await repo.close();
      await stopGpgAgent(gnupg);
    },
  };
}

/** #cloud-config that installs the check script and runs it (NoCloud seed or config drive). */
export function checkUserData(): string {
  const script = readFileSync(CHECK_SCRIPT).toString('base64');
  return [
    '#cloud-config',
    'write_files:',
    '  - path: /usr/local/sbin/ibn-check',
    "    permissions: '0755'",
    '    encoding: b64',
    `    content: ${script}`,
    'runcmd:',
    '  - [ /bin/sh, /usr/local/sbin/ibn-check ]',
    '',
  ].join('\n');
}

/** `IBN-CHECK <name> <value>` lines of a console log: name -> values in order. */
export function parseChecks(consoleText: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of consoleText.replace(/\r/g, '').matchAll(/IBN-CHECK (\S+) ([^\n]*)/g)) {
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!.trim());
    out.set(m[1]!, list);
  }
  return out;
}
