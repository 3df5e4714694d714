/**
 * Building and booting a Kubernetes node test image, and what the booted node reports through the
 * check script (test/fixtures/worker/ibn-check.sh), judged the same way for every image:
 * worker-qcow2.ts (QCOW2) and ephemeral-iso.ts (ISO) build with `buildNode`, boot with `bootNode` (which
 * keeps the console text in `consoles`) and run CHECKS.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import * as assert from 'uvu/assert';
import { assertCleanFirstBoot, FIRST_BOOT_DONE, secureBootSeen } from './first-boot.ts';
import { assertCleanHost, cli, DISTRO } from './host.ts';
import { EXPECT, K8S_REPO_PATH, KUBE_VERSION, parseChecks, type WorkerFixture } from './worker.ts';

export type Format = 'qcow2' | 'iso';

/** The serial console text of each format's boot (set by bootNode). */
export const consoles: Partial<Record<Format, string>> = {};

const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '900';
/** The last line of a node's checks (the first-boot status script prints it). */
export const DONE = FIRST_BOOT_DONE;

/**
 * Build one format of the fixture's profile into `out` (emptied first) and check the result: exit
 * code, checksum, clean host, and, when the rootfs was built now, that apt read the mirror's signed
 * flat index and fetched the pinned kubelet (not the newer one) from it. Returns the CLI result.
 */
export async function buildNode(
  fx: WorkerFixture,
  format: Format,
  out: string,
  timings: string[],
  extra: string[] = [],
) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const name = path.basename(fx.profile, '.ts');
  const requestsBefore = fx.repo.requests.length;
  const t0 = Date.now();
  const r = await cli([
    'build',
    // the worker keeps debootstrap (no longer the default) built, booted and checked end to end
    '--bootstrapper',
    'debootstrap',
    '--profile',
    fx.profile,
    '--distro',
    DISTRO,
    '--format',
    format,
    '--output',
    out,
    ...extra,
  ]);
  const seconds = (Date.now() - t0) / 1000;
  const rootfsHit = /rootfs: reused from cache/.test(r.all);
  timings.push(`build ${format}: ${seconds.toFixed(0)} s (rootfs ${rootfsHit ? 'from cache' : 'built'})`);
  assert.is(r.exitCode, 0, `build --format ${format} failed:\n${r.all.slice(-5000)}`);
  const image = path.join(out, `${name}.${format}`);
  assert.ok(existsSync(image), `${image} missing`);
  const sum = await execa('sha256sum', ['--check', `${name}.${format}.sha256`], { cwd: out, reject: false });
  assert.is(sum.exitCode, 0, `${format} checksum does not verify: ${sum.stdout}${sum.stderr}`);
  if (!rootfsHit) {
    // the rootfs was built now: apt must have read the signed flat index and fetched the debs from us
    const seen = fx.repo.requests.slice(requestsBefore).join('\n');
    const repo = `/${K8S_REPO_PATH}`;
    assert.ok(seen.includes(`GET ${repo}InRelease`), `apt never asked the test mirror:\n${seen}`);
    assert.ok(
      seen.includes(`GET ${repo}amd64/kubelet_${KUBE_VERSION}_amd64.deb`),
      `the pinned kubelet never downloaded from the test mirror:\n${seen}`,
    );
    assert.not.match(seen, /kubelet_1\.31\.2/, 'the newer kubelet was downloaded despite the pin');
  }
  assertCleanHost(assert, `after building ${format}`);
  return { ...r, image };
}

/** Boot an image until the check script is done; keeps the console in `consoles[format]`. */
export async function bootNode(
  image: string,
  format: Format,
  /** secure-boot: UEFI with Secure Boot enforced (`boot --secure-boot`). */
  firmware: 'bios' | 'uefi' | 'secure-boot',
  log: string,
  timings: string[],
  seedDir?: string,
) {
  rmSync(log, { force: true });
  const t0 = Date.now();
  const r = await cli([
    'boot',
    image,
    ...(firmware === 'secure-boot' ? ['--secure-boot'] : ['--firmware', firmware]),
    '--timeout',
    TIMEOUT,
    '--console-log',
    log,
    '--expect',
    DONE,
    ...(seedDir ? ['--seed', seedDir] : []),
  ]);
  const reached = /login: reached in (\d+(?:\.\d+)?) s/.exec(r.stdout)?.[1];
  timings.push(
    `boot ${format} (${firmware}): ${reached ? `login + checks in ${reached} s` : 'FAILED'}, ${((Date.now() - t0) / 1000).toFixed(0)} s in all`,
  );
  consoles[format] = existsSync(log) ? readFileSync(log, 'utf8') : '';
  assert.is(r.exitCode, 0, `boot of ${format} failed:\n${r.all.slice(-4000)}`);
  assert.ok(consoles[format]!.includes(DONE), `${DONE} not in ${log}`);
}

/** The values a check printed in a format's boot (fails with a clear message if that boot gave nothing). */
export function values(format: Format, name: string): string[] {
  const text = consoles[format];
  assert.ok(text, `no console from the ${format} boot (did it fail?)`);
  const v = parseChecks(text!).get(name);
  assert.ok(v?.length, `the ${format} boot printed no "IBN-CHECK ${name}" line`);
  return v!;
}

/** The value of `key=` among a check's values. */
export function keyed(format: Format, name: string, key: string): string | undefined {
  const prefix = `${key}=`;
  return values(format, name)
    .find((v) => v.startsWith(prefix))
    ?.slice(prefix.length);
}

/** Every fact the check script reports, judged the same way for both images. */
export const CHECKS: { what: string; verify: (f: Format) => void }[] = [
  {
    what: 'a clean first boot: cloud-init done without errors, no failed systemd unit',
    verify: (f) => {
      const text = consoles[f];
      assert.ok(text, `no console from the ${f} boot (did it fail?)`);
      assertCleanFirstBoot(text!, `${f} boot`);
    },
  },
  {
    what: 'sysctl values are live',
    verify: (f) => {
      for (const [k, v] of Object.entries(EXPECT.sysctl)) assert.is(keyed(f, 'sysctl', k), v, `sysctl ${k}`);
    },
  },
  {
    what: `kernel module ${EXPECT.loadModule} is loaded at boot with its options`,
    verify: (f) => {
      assert.is(keyed(f, 'module-loaded', EXPECT.loadModule), 'yes', `${EXPECT.loadModule} not in lsmod`);
      const links = values(f, 'net-links')[0];
      const options = parseChecks(consoles[f] ?? '').get('module-options')?.[0];
      assert.is(
        keyed(f, 'module-args', 'dummy-links'),
        '2',
        `numdummies=2 did not make two dummy links (links: ${links}; modprobe -c: ${options})`,
      );
    },
  },
  {
    what: `blacklisted module ${EXPECT.blacklisted} cannot be loaded and is not loaded`,
    verify: (f) => {
      assert.is(
        keyed(f, 'blacklist-modprobe', EXPECT.blacklisted),
        'refused',
        'modprobe of a blacklisted module',
      );
      assert.is(keyed(f, 'blacklist-loaded', EXPECT.blacklisted), 'no', 'blacklisted module loaded');
    },
  },
  {
    what: 'nofile limits apply to a login session',
    verify: (f) => {
      assert.is(keyed(f, 'limits', 'nofile-soft'), EXPECT.nofileSoft, 'soft nofile of nobody');
      assert.is(keyed(f, 'limits', 'nofile-hard'), EXPECT.nofileHard, 'hard nofile of nobody');
    },
  },
  {
    what: 'AppArmor is enabled and the profile is loaded',
    verify: (f) => {
      assert.is(values(f, 'apparmor-enabled')[0], 'Y', '/sys/module/apparmor/parameters/enabled');
      assert.is(values(f, 'apparmor-file')[0], 'present', '/etc/apparmor.d/ibn-tool');
      // on the ISO too: apparmor.service skips live systems unless the module's drop-in lifts that
      assert.is(values(f, 'apparmor-service')[0], 'active', 'apparmor.service');
      const loaded = values(f, 'apparmor-profile')[0]!;
      assert.match(loaded, /^ibn-tool \(enforce\)/, 'ibn-tool in /sys/kernel/security/apparmor/profiles');
    },
  },
  {
    what: 'the DKMS module loads from DKMS (refused under Secure Boot: it is not signed)',
    verify: (f) => {
      if (secureBootSeen(consoles[f] ?? '')?.state === 'enabled') {
        // what the plan warns of: a kernel locked down by Secure Boot refuses the unsigned module
        assert.is(
          keyed(f, 'dkms-modprobe', EXPECT.dkms),
          'failed',
          `modprobe ${EXPECT.dkms} under Secure Boot`,
        );
        assert.is(keyed(f, 'dkms-loaded', EXPECT.dkms), 'no', `${EXPECT.dkms} loaded under Secure Boot`);
        assert.match(
          values(f, 'dkms-modprobe-error')[0]!,
          /Key was rejected by service|Required key not available|Operation not permitted/,
        );
      } else {
        assert.is(keyed(f, 'dkms-modprobe', EXPECT.dkms), 'ok', `modprobe ${EXPECT.dkms}`);
        assert.is(keyed(f, 'dkms-loaded', EXPECT.dkms), 'yes', `${EXPECT.dkms} not in lsmod`);
      }
      assert.match(values(f, 'dkms-file')[0]!, /\/updates\/dkms\/ibn_hello\.ko/, 'module file location');
    },
  },
  {
    what: 'containerd is active with the systemd cgroup driver',
    verify: (f) => {
      const status =
        parseChecks(consoles[f] ?? '')
          .get('containerd-status')
          ?.join('\n') ?? '';
      assert.is(values(f, 'containerd-active')[0], 'active', `containerd state\n${status}`);
      assert.is(
        values(f, 'containerd-systemdcgroup')[0],
        '1',
        'SystemdCgroup = true in /etc/containerd/config.toml',
      );
    },
  },
  {
    what: 'kubelet is enabled and runs with the extra arguments',
    verify: (f) => {
      assert.is(values(f, 'kubelet-enabled')[0], 'enabled', 'systemctl is-enabled kubelet');
      assert.is(values(f, 'kubelet-active')[0], 'active', 'systemctl is-active kubelet');
      const cmd = values(f, 'kubelet-cmdline')[0]!;
      assert.ok(cmd.includes('/usr/bin/kubelet'), `kubelet process: ${cmd}`);
      assert.ok(cmd.includes(EXPECT.kubeletArg), `kubelet runs without ${EXPECT.kubeletArg}: ${cmd}`);
      const pkgs = values(f, 'kube-packages')[0]!;
      // the pin chose the asked patch over the newer one in the same repo
      for (const p of ['kubelet', 'kubeadm', 'kubectl'])
        assert.ok(pkgs.includes(`${p}=${KUBE_VERSION}`), `${p} ${KUBE_VERSION} not installed: ${pkgs}`);
      assert.match(values(f, 'kube-pin')[0]!, /^1001 /, 'apt-cache policy: the pinned candidate');
    },
  },
  {
    what: 'blocked packages are not installed',
    verify: (f) => {
      for (const p of EXPECT.blocked) assert.is(keyed(f, 'package', p), 'absent', `blocked package ${p}`);
      // make is what dkms would pull in: with it blocked apt took make-guile, which provides it
      assert.is(keyed(f, 'package', 'make-guile'), 'installed', 'make-guile (the alternative to make)');
    },
  },
  {
    what: 'a machine-id is generated at boot',
    verify: (f) => assert.match(values(f, 'machine-id')[0]!, /^[0-9a-f]{32}$/, '/etc/machine-id'),
  },
  {
    what: 'the kernel command line carries the profile token',
    verify: (f) => {
      const cmdline = values(f, 'cmdline')[0]!;
      assert.ok(cmdline.split(/\s+/).includes(EXPECT.cmdlineToken), `/proc/cmdline: ${cmdline}`);
      assert.ok(cmdline.includes('apparmor=1'), `/proc/cmdline without apparmor=1: ${cmdline}`);
    },
  },
  {
    what: 'files: the common one everywhere, the qcow2 one only in the QCOW2',
    verify: (f) => {
      assert.is(keyed(f, 'file', EXPECT.commonFile.path), EXPECT.commonFile.content, EXPECT.commonFile.path);
      assert.is(
        keyed(f, 'file', EXPECT.qcow2File.path),
        f === 'qcow2' ? EXPECT.qcow2File.content : 'absent',
        `${EXPECT.qcow2File.path} in the ${f}`,
      );
    },
  },
];
