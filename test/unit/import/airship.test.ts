import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../../src/cli/main.ts';
import { UserError } from '../../../src/errors.ts';
import {
  importAirship,
  mapLivecdcontentVars,
  mapMultistrapVars,
  mapOsconfigVars,
  mapQcowVars,
} from '../../../src/import/airship.ts';
import { readVars } from '../../../src/import/files.ts';
import { listChange, modeOf, partedSizeOf } from '../../../src/import/values.ts';
import { planProfile } from '../../../src/modules/index.ts';
import { kubeletModule } from '../../../src/modules/kubelet.ts';
import { applyRemovals, mergeProfiles } from '../../../src/profile/merge.ts';
import { type ResolvedProfile, resolveProfile } from '../../../src/profile/resolve.ts';
import { profileSchema } from '../../../src/profile/schema.ts';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/airship');
const fixture = (f: string) => readVars(path.join(FIXTURE, 'config', f));

const dirs: string[] = [];
function tmp(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-airship-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let base: ResolvedProfile;
test.before(async () => {
  base = await resolveProfile('base');
});

/** Apply a child fragment to a parent the way `extends` does (merge, then `remove`). */
function applied(
  parent: object,
  child: Record<string, unknown> & { remove?: Record<string, string[]> },
): Record<string, unknown> {
  const merged = mergeProfiles(parent as Record<string, unknown>, child as Record<string, unknown>);
  return child.remove ? applyRemovals(merged, child.remove).result : merged;
}

// ---------------------------------------------------------------------------------- value helpers

test('modes: YAML 1.1 octal numbers and quoted strings; an unquoted decimal 644 is refused', () => {
  assert.equal(modeOf(0o755), { mode: '0755' });
  assert.equal(modeOf('0644'), { mode: '0644' });
  assert.equal(modeOf('640'), { mode: '0640' });
  assert.ok('problem' in modeOf(644));
  assert.ok('problem' in modeOf('u=rwx'));
});

test('parted positions: binary units and % carry over, decimal units become bytes', () => {
  assert.is(partedSizeOf('1284MiB'), '1284MiB');
  assert.is(partedSizeOf('100%'), '100%');
  assert.is(partedSizeOf('1GB'), '1000000000B');
  assert.is(partedSizeOf('2048s'), '1048576B');
  assert.is(partedSizeOf(500), '500000000B');
  assert.is(partedSizeOf('-1MiB'), undefined);
});

test('listChange: a replaced list becomes additions and removals that merge back to it exactly', () => {
  const inherited = ['console=tty0', 'console=ttyS0,115200n8', 'iommu=pt', 'rcu_nocb_poll=true'];
  const desired = ['console=ttyS0,115200n8', 'console=tty0', 'iommu=pt', 'quiet'];
  const ch = listChange(desired, inherited, 'cmdline');
  assert.equal(ch, {
    add: ['console=ttyS0,115200n8', 'console=tty0', 'quiet'],
    remove: ['rcu_nocb_poll=true'],
  });
  const result = applied(
    { grub: { cmdline: inherited } },
    { grub: { cmdline: ch.add }, remove: { 'grub.cmdline': ch.remove } },
  );
  assert.equal(result, { grub: { cmdline: ['iommu=pt', ...ch.add] } });
  // packages compare by name: a pin replaces the unpinned package, nothing else is restated
  assert.equal(listChange(['vim', 'kubelet=1.2', 'jq'], ['vim', 'kubelet', 'less'], 'packages'), {
    add: ['kubelet=1.2', 'jq'],
    remove: ['less'],
  });
});

// ------------------------------------------------------------------------------------ multistrap

test('multistrap: _append forms add to the inherited lists; a replaced list adds and removes', () => {
  const r = mapMultistrapVars(fixture('rootfs/multistrap-vars.yaml'), { inherited: base });
  assert.equal(r.profile, {
    nicNaming: { namePolicy: 'kernel onboard path' },
    packages: ['jq', 'tmux'],
    repos: [
      {
        name: 'vendorutils',
        url: 'http://vendor.example.com/ubuntu',
        suite: 'focal',
        components: ['main', 'restricted', 'universe'],
        key: './keys/vendorutils.asc',
        packages: ['vendor-tool'],
      },
      // a third-party repo shaped like the original's README example (suite focal, Ubuntu's components) is kept
      {
        name: 'hwutils',
        url: 'http://hw-utils.example.com',
        suite: 'focal',
        components: ['main', 'restricted', 'universe'],
        key: './keys/hwutils.asc',
        packages: ['hw-tool'],
      },
    ],
    blockedPackages: ['snapd'],
    kubernetes: { version: '1.21.2' },
  });
  assert.equal(r.unmapped, [
    'rootfs_root: a build-internal path of the original; ib-native keeps its trees in its cache',
    'multistrap_retries: ib-native retries mirrors with its own fixed policy',
    'repos_append[0].keyring_url: download http://vendor.example.com/ubuntu/key.asc to keys/vendorutils.asc next to the profile (ib-native reads repo keys from files)',
    'repos_append[1].keyring_pkg: ib-native cannot take a repo key from a package ("ubuntu-keyring"): put the repo\'s signing key in keys/hwutils.asc next to the profile',
    'k8s_version: Kubernetes 1.21.2 predates the pkgs.k8s.io repositories (they start at 1.24) and apt.kubernetes.io is retired: pick a current release',
  ]);
});

test('multistrap: k8s_version is the Kubernetes version, whatever the inherited profile pins', () => {
  // the Debian revision of apt.kubernetes.io goes; the inherited kubelet pins are left to kubernetes.version
  const worker = { kubelet: { enabled: true, version: '1.21.2-00' } };
  const k = mapMultistrapVars({ k8s_version: '1.31.2-00' }, { inherited: worker });
  assert.equal(k, { profile: { kubernetes: { version: '1.31.2' } }, unmapped: [] });
  assert.equal(mapMultistrapVars({ k8s_version: '1.30' }).profile, { kubernetes: { version: '1.30' } });
  assert.equal(mapMultistrapVars({ k8s_version: 'latest' }), {
    profile: {},
    unmapped: ['k8s_version: "latest" is not a Kubernetes version such as 1.21.2-00'],
  });
  // the Kubernetes project's repo in `repos` is not kept: its pins give the version
  const r = mapMultistrapVars({
    k8s_version: '1.29.1-00',
    repos: [
      {
        name: 'Ubuntu',
        packages: [],
        source: 'http://archive.ubuntu.com/ubuntu/',
        suite: 'focal',
        components: 'main restricted universe',
      },
      {
        name: 'Ubuntu-Updates',
        packages: [],
        source: 'http://archive.ubuntu.com/ubuntu/',
        suite: 'focal-updates',
        components: 'main restricted universe',
      },
      {
        name: 'Ubuntu-Security',
        packages: [],
        source: 'http://archive.ubuntu.com/ubuntu/',
        suite: 'focal-security',
        components: 'main restricted universe',
      },
      {
        name: 'Kubernetes',
        packages: [
          'kubelet={{ k8s_version }}',
          'kubeadm={{ k8s_version }}',
          'kubectl={{ k8s_version }}',
          'cri-tools',
        ],
        source: 'https://apt.kubernetes.io',
        keyring_url: 'https://packages.cloud.google.com/apt/doc/apt-key.gpg',
        suite: 'kubernetes-xenial',
        components: 'main',
      },
    ],
  });
  assert.equal(r.profile.kubernetes, { version: '1.29.1' });
  assert.is(r.profile.repos, undefined);
  assert.equal(r.unmapped, [
    'repos[3].packages: "cri-tools": kubernetes.version installs kubelet, kubeadm and kubectl only; add other packages by hand',
  ]);
  // `repos` replaced without a Kubernetes repo: image-builder used k8s_version nowhere
  const none = mapMultistrapVars({
    k8s_version: '1.29.1-00',
    repos: [
      {
        name: 'Ubuntu',
        packages: [],
        source: 'http://archive.ubuntu.com/ubuntu/',
        suite: 'focal',
        components: 'main restricted universe',
      },
    ],
  });
  assert.is(none.profile.kubernetes, undefined);
  assert.ok(
    none.unmapped.includes(
      'k8s_version: no repo in `repos` installs Kubernetes, so image-builder used it nowhere',
    ),
  );
});

test("multistrap: an appended repo is Ubuntu's by its source, not by its suite or components", () => {
  const r = mapMultistrapVars({
    repos_append: [
      {
        name: 'Backports',
        source: 'http://archive.ubuntu.com/ubuntu/',
        suite: 'focal-backports',
        components: 'main',
      },
      {
        name: 'Site',
        source: 'https://repo.site.example/apt',
        suite: 'focal-updates',
        components: 'main',
        packages: ['site-agent'],
        keyring_url: 'https://repo.site.example/key.gpg',
      },
    ],
  });
  assert.equal(
    r.profile.repos?.map((x) => [x.name, x.url, x.suite, x.key]),
    [['site', 'https://repo.site.example/apt', 'focal-updates', './keys/site.gpg']],
  );
  assert.ok(
    r.unmapped.includes(
      'repos_append[0]: an added Ubuntu repo: ib-native has one distro mirror (replace it with `repos`)',
    ),
  );
});

test('multistrap: replacing repos and ubuntu_packages (a local mirror), templates resolved', () => {
  const r = mapMultistrapVars(
    {
      ubuntu_packages: ['{{ kernel_base_pkg }}', '{{ kernel_headers_pkg }}', 'vim', 'curl', 'Bad_Name'],
      ubuntu_packages_append: ['jq'],
      repos: [
        {
          name: 'Ubuntu',
          packages: '{{ ubuntu_packages }}',
          source: 'http://mirror.local/ubuntu/',
          keyring_pkg: 'ubuntu-keyring',
          suite: 'focal',
          components: 'main restricted universe',
        },
        {
          name: 'Ubuntu-Updates',
          packages: [],
          source: 'http://mirror.local/ubuntu/',
          suite: 'focal-updates',
        },
        {
          name: 'Kubernetes',
          packages: ['kubelet={{ k8s_version }}'],
          source: 'https://apt.example/k8s',
          suite: 'kubernetes-xenial',
          components: 'main',
          keyring_pkg: 'k8s-keyring',
        },
      ],
    },
    {
      inherited: {
        packages: ['vim', 'curl', 'less'],
        repos: [{ name: 'docker', url: 'http://d', suite: 's' }],
      } as never,
    },
  );
  assert.equal(r.profile, {
    mirror: 'http://mirror.local/ubuntu',
    packages: ['jq'],
    repos: [
      {
        name: 'kubernetes',
        url: 'https://apt.example/k8s',
        suite: 'kubernetes-xenial',
        components: ['main'],
        key: './keys/kubernetes.asc',
        packages: ['kubelet=1.21.2-00'],
      },
    ],
    remove: { packages: ['less'], repos: ['docker'] },
  });
  assert.ok(
    r.unmapped.some((u) => u.startsWith('ubuntu_packages[4]: "Bad_Name": must be a Debian package name')),
  );
  assert.ok(r.unmapped.includes('repos: has no focal-security repo; ib-native always adds it'));
  assert.ok(
    r.unmapped.some((u) =>
      u.startsWith('repos[2].keyring_pkg: ib-native cannot take a repo key from a package'),
    ),
  );
});

// -------------------------------------------------------------------------------------- osconfig

test('osconfig (rootfs): replaced lists against base, modes, run contexts, unmappable values', () => {
  const r = mapOsconfigVars(fixture('rootfs/osconfig-vars.yaml'), { inherited: base });
  const p = r.profile;
  assert.equal(p.kernel, {
    modules: {
      load: [{ name: 'bonding', args: { mode: 4 } }, { name: 'nf_conntrack' }],
      blacklist: ['floppy'],
    },
  });
  assert.equal(p.limits, [
    { name: 'memlock-all', domain: '*', type: '-', item: 'memlock', value: 'unlimited' },
  ]);
  assert.equal(p.grub, {
    timeout: 5,
    serialCommand: 'serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1',
    cmdline: ['console=ttyS0,115200n8', 'console=tty0', 'audit=0'],
  });
  assert.equal(p.kdump, { crashkernel: '512M' });
  assert.equal(p.directories, [{ path: '/opt/site', mode: '0750', owner: 'root', group: 'root' }]);
  assert.equal(
    p.files?.map((f) => [f.path, f.mode, f.contexts]),
    [
      ['/opt/site/hello.sh', '0755', undefined],
      ['/etc/qcow-only', '0644', ['disk']],
    ],
  );
  assert.equal(p.systemd?.[0]?.enabled, true);
  assert.equal(p.users, [{ name: 'ubuntu', shell: '/bin/false', passwordLock: true }]);
  assert.equal(p.remove, {
    'kernel.modules.load': ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'],
    'grub.cmdline': ['rcu_nocb_poll=true'],
  });
  assert.equal(r.unmapped, [
    "ntp_servers: not a variable of image-builder's osconfig role, which ignores it",
    'fetch_from_url_append[0]: "https://example.com/i40e-2.15.9.tar.gz": ib-native downloads only with a sha256 to check; add it as fetch: [{url, sha256}] by hand',
    "files[2].permissions: mode 644 is a decimal number (Ansible applies it as 01204); write it quoted, e.g. '0644'",
  ]);
});

test('osconfig (rootfs): sysctl replaces the inherited map; an entry that cannot be imported keeps the inherited one', () => {
  const r = mapOsconfigVars(
    {
      sysctl: [
        { name: 'kernel.panic', value: '3' },
        { name: 'vm.swappiness', value: '10' },
        { name: 'kernel.pid_max', value: '{{ pid_max }}' },
      ],
    },
    { inherited: { sysctl: { 'kernel.panic': 3, 'kernel.sysrq': 8, 'kernel.pid_max': 4194303 } } },
  );
  assert.equal(r.profile, { sysctl: { 'vm.swappiness': 10 }, remove: { sysctl: ['kernel.sysrq'] } });
  assert.equal(r.unmapped, ['sysctl[2]: a Jinja expression ib-native cannot evaluate']);
});

test('osconfig (qcow bundle): only qcow entries ran; common-only variables were ignored by the original', () => {
  const cp = mapOsconfigVars(fixture('qcow-bundle/control-plane/osconfig-vars.yaml'), {
    inherited: base,
    scope: 'qcow-bundle',
    image: 'control-plane',
  });
  assert.equal(cp.profile, {
    files: [
      {
        path: '/etc/node-role',
        content: 'control-plane\n',
        mode: '0644',
        owner: 'root',
        group: 'root',
        contexts: ['disk'],
      },
    ],
  });
  assert.equal(cp.unmapped, [
    "sysctl: image-builder ignores it in a QCOW bundle's osconfig-vars (its task runs only while the shared rootfs is built); set it in rootfs/osconfig-vars.yaml",
    'files[1]: its run_contexts lack "qcow", so image-builder never ran it for this QCOW (a bundle\'s osconfig-vars only run in the qcow context)',
  ]);
  const dp = mapOsconfigVars(fixture('qcow-bundle/data-plane/osconfig-vars.yaml'), {
    inherited: base,
    scope: 'qcow-bundle',
    image: 'data-plane',
  });
  // the appended console keeps the inherited ones (the kernel writes to every console)
  assert.equal(dp.profile.grub, {
    cmdline: [
      'console=tty0',
      'console=ttyS0,115200n8',
      'hugepagesz=1G',
      'hugepages=100',
      'default_hugepagesz=1G',
      'isolcpus=4-43,48-87',
      'console=ttyS1,115200n8',
    ],
  });
  assert.equal(dp.profile.userScripts, [
    {
      name: 'data-plane-user-script-1',
      content: '#!/bin/sh\necho data-plane > /etc/node-role\n',
      contexts: ['disk'],
    },
  ]);
  assert.is(dp.profile.remove, undefined);
  assert.equal(dp.unmapped, []);
});

// ------------------------------------------------------------------------------------------ qcow

test('qcow: capacity, compression; partitions in another order get new names so the numbering holds', () => {
  assert.equal(mapQcowVars(fixture('qcow-bundle/control-plane/qcow-vars.yaml')), {
    profile: { disk: { size: '200G' }, qcow2: { compress: false } },
    unmapped: [],
  });
  const r = mapQcowVars(fixture('qcow-bundle/data-plane/qcow-vars.yaml'), { inherited: base });
  assert.equal(
    r.profile.disk?.partitions?.map((p) => [p.name, p.mountpoint, p.filesystem, p.start, p.end, p.flags]),
    [
      ['bios-1', undefined, 'none', '1MiB', '5MiB', ['bios_grub']],
      ['efi-2', '/boot/efi', 'vfat', '5MiB', '516MiB', ['esp']],
      ['boot-3', '/boot', 'ext4', '516MiB', '1284MiB', []],
      ['root-4', '/', 'ext4', '1284MiB', '100%', []],
    ],
  );
  assert.equal(r.profile.disk?.size, '40G');
  assert.equal(r.profile.remove, { 'disk.partitions': ['root', 'bios', 'efi', 'boot'] });
  assert.equal(r.unmapped, [
    "img_name: image-builder's Makefile overrode it with <entry>.qcow2; ib-native names the image after the profile",
    'partitions[1].flags: flag "msftdata": ib-native supports esp, bios_grub, boot, legacy_boot',
  ]);
  // the same layout in the inherited order changes nothing
  const same = mapQcowVars(
    {
      partitions: [
        {
          mount: '/',
          part_start: '1284MiB',
          part_end: '100%',
          filesystem: {
            type: 'ext4',
            fstab: { options: 'defaults,errors=remount-ro,noatime', dump: 0, fsck: 1 },
          },
        },
        { mount: 'none', part_start: '1MiB', part_end: '5MiB', flags: ['bios_grub'] },
        {
          mount: '/boot/efi',
          part_start: '5MiB',
          part_end: '516MiB',
          flags: ['esp'],
          filesystem: { type: 'vfat', fstab: { options: 'defaults,errors=remount-ro,noatime', fsck: 1 } },
        },
        {
          mount: '/boot',
          part_start: '516MiB',
          part_end: '2GiB',
          filesystem: { type: 'btrfs' },
        },
      ],
    },
    { inherited: base },
  );
  assert.equal(same.profile, {});
  // mount_order only matters for nested mounts, which ib-native always mounts parents first
  const order = mapQcowVars({
    partitions: [
      { mount: '/', mount_order: 0, part_start: '1284MiB', part_end: '100%', filesystem: { type: 'ext4' } },
      {
        mount: '/boot/efi',
        mount_order: 1,
        part_start: '5MiB',
        part_end: '516MiB',
        filesystem: { type: 'vfat' },
      },
      {
        mount: '/boot',
        mount_order: 2,
        part_start: '516MiB',
        part_end: '1284MiB',
        filesystem: { type: 'ext4' },
      },
    ],
  });
  assert.equal(order.unmapped, [
    'partitions: mount_order mounts /boot/efi before /boot; ib-native always mounts parents first',
  ]);
  assert.equal(same.unmapped, ['partitions[3]: filesystem type "btrfs": ib-native makes ext4, xfs, vfat']);
});

test('livecdcontent: squashfs compression maps, the timeout does not', () => {
  assert.equal(mapLivecdcontentVars(fixture('rootfs/livecdcontent-vars.yaml')), {
    profile: { iso: { compression: 'zstd' } },
    unmapped: ['squashfs_timeout: ib-native runs mksquashfs with its own timeout and retry policy'],
  });
});

// ---------------------------------------------------------------------------------- importAirship

test('importAirship: the fixture becomes airship-base plus one profile per bundle entry, each resolving', async () => {
  const out = tmp();
  const written = await importAirship(FIXTURE, out);
  assert.equal(
    written.map((w) => [w.name, path.basename(w.file), w.sources]),
    [
      [
        'airship-base',
        'airship-base.yaml',
        [
          'rootfs/multistrap-vars.yaml',
          'rootfs/osconfig-vars.yaml',
          'rootfs/livecdcontent-vars.yaml',
          'scripts/common/10-common.sh',
          'scripts/qcow/10-qcow.sh',
          'iso/user_data',
          'iso/network_data.json',
        ],
      ],
      [
        'control-plane',
        'control-plane.yaml',
        ['qcow-bundle/control-plane/osconfig-vars.yaml', 'qcow-bundle/control-plane/qcow-vars.yaml'],
      ],
      [
        'data-plane',
        'data-plane.yaml',
        ['qcow-bundle/data-plane/osconfig-vars.yaml', 'qcow-bundle/data-plane/qcow-vars.yaml'],
      ],
    ],
  );
  const [ab, cp, dp] = await Promise.all(written.map((w) => resolveProfile(w.file)));
  assert.equal(
    ab!.sources.map((s) => path.basename(s)),
    ['base.ts', 'airship-base.yaml'],
  );
  assert.equal(ab!.packages, [...base.packages, 'jq', 'tmux']);
  assert.equal(ab!.blockedPackages, ['unattended-upgrades', 'systemd-timesyncd', 'snapd']);
  assert.equal(ab!.kernel?.modules, {
    load: [
      { name: '8021q' },
      { name: 'bonding', args: { mode: 4 } },
      { name: 'br_netfilter' },
      { name: 'nf_conntrack' },
    ],
    blacklist: ['krbd', 'floppy'],
  });
  assert.equal(ab!.grub?.cmdline, [
    'amd_iommu=on',
    'intel_iommu=on',
    'iommu=pt',
    'cgroup_disable=hugetlb',
    'dpdk-socket-mem=4096,4096',
    'console=ttyS0,115200n8',
    'console=tty0',
    'audit=0',
  ]);
  assert.equal(ab!.iso, { compression: 'zstd' });
  assert.equal(
    ab!.userScripts?.map((s) => [s.name, s.file && existsSync(s.file), s.contexts]),
    [
      ['scripts-common-10-common.sh', true, undefined],
      ['scripts-qcow-10-qcow.sh', true, ['disk']],
    ],
  );
  assert.equal(cp!.formats, ['qcow2']);
  assert.equal(cp!.disk?.size, '200G');
  assert.equal(cp!.qcow2, { compress: false });
  // control-plane's `files` replaced the rootfs file's: its qcow entry /etc/qcow-only did not run there;
  // data-plane sets no `files`, so it got it
  assert.equal(
    cp!.files?.map((f) => f.path),
    ['/opt/site/hello.sh', '/etc/node-role'],
  );
  assert.equal(
    dp!.files?.map((f) => f.path),
    ['/opt/site/hello.sh', '/etc/qcow-only'],
  );
  // scripts/qcow ran for every QCOW, whatever its osconfig-vars set
  for (const q of [cp!, dp!])
    assert.ok(
      q.userScripts?.some((x) => x.name === 'scripts-qcow-10-qcow.sh' && x.contexts?.includes('disk')),
    );
  assert.not.ok(written.some((w) => w.unmapped.some((u) => /scripts|did not run/.test(u))));
  assert.equal(
    dp!.disk?.partitions?.map((p) => [p.name, p.mountpoint ?? null]),
    [
      ['bios-1', null],
      ['efi-2', '/boot/efi'],
      ['boot-3', '/boot'],
      ['root-4', '/'],
    ],
  );
  // data-plane's grub_cmdline_linux_default_append replaced the rootfs file's (audit=0); its grub stayed
  assert.equal(dp!.grub?.cmdline?.slice(-7), [
    'console=ttyS0,115200n8',
    'console=tty0',
    'hugepagesz=1G',
    'hugepages=100',
    'default_hugepagesz=1G',
    'isolcpus=4-43,48-87',
    'console=ttyS1,115200n8',
  ]);
  assert.not.ok(dp!.grub?.cmdline?.includes('audit=0'));
  assert.ok(cp!.grub?.cmdline?.includes('audit=0'));
  // iso/ becomes the ISO's config drive: the files in <out>/iso, and the build arguments naming them
  assert.equal(written[0]!.configDriveArgs, [
    '--user-data',
    path.join(out, 'iso/user_data'),
    '--network-data',
    path.join(out, 'iso/network_data.json'),
  ]);
  for (const f of ['user_data', 'network_data.json'])
    assert.is(
      readFileSync(path.join(out, 'iso', f), 'utf8'),
      readFileSync(path.join(FIXTURE, 'config/iso', f), 'utf8'),
    );
  assert.is(statSync(path.join(out, 'iso/user_data')).mode & 0o777, 0o600);
  assert.match(
    readFileSync(written[0]!.file, 'utf8'),
    /^# {3}ib-native build --profile airship-base\.yaml --format iso --user-data iso\/user_data --network-data iso\/network_data\.json$/m,
  );
  assert.not.ok(written.slice(1).some((w) => w.configDriveArgs));
  // k8s_version 1.21.2-00 is kubernetes.version 1.21.2 (reported instead while this schema lacks the field)
  if ('kubernetes' in profileSchema.shape)
    assert.equal((ab as unknown as { kubernetes?: unknown }).kubernetes, { version: '1.21.2' });
  else
    assert.ok(
      written[0]!.unmapped.includes(
        '(kubernetes): k8s_version maps to kubernetes.version 1.21.2, a field this ib-native does not have yet',
      ),
    );
  // every item not imported is returned and written at the top of its profile
  assert.ok(
    written[0]!.unmapped.includes(
      'rootfs/osconfig-vars.yaml: fetch_from_url_append[0]: "https://example.com/i40e-2.15.9.tar.gz": ib-native downloads only with a sha256 to check; add it as fetch: [{url, sha256}] by hand',
    ),
  );
  assert.ok(written[0]!.unmapped.some((u) => u.startsWith("(defaults): image-builder's default repos")));
  assert.ok(written[0]!.unmapped.some((u) => u.startsWith('iso/: image-builder put its own meta_data.json')));
  for (const w of written) {
    const text = readFileSync(w.file, 'utf8');
    for (const u of w.unmapped) assert.ok(text.includes(`#   - ${u}\n`), `${w.name} lists ${u}`);
  }
  // with the repo key the warning asks for in place, every profile plans without a problem
  mkdirSync(path.join(out, 'keys'));
  for (const k of ['vendorutils', 'hwutils'])
    writeFileSync(path.join(out, `keys/${k}.asc`), '-----BEGIN PGP PUBLIC KEY BLOCK-----\n');
  // the original's Kubernetes 1.21 predates pkgs.k8s.io: the imported version is kept, and planning
  // says what to do (a newer version, or kubernetes.mirror); everything else plans without a problem
  for (const p of [ab!, cp!, dp!]) {
    const resolved = await resolveProfile(p.sources.at(-1)!);
    assert.throws(
      () => planProfile(resolved),
      /kubernetes\.version: pkgs\.k8s\.io has repos from 1\.24 on, none for 1\.21\.2/,
    );
  }
});

test('importAirship: a k8s_version overlay (profiles/<name>/manifests) on --base worker plans without a pin conflict', async () => {
  const [ab] = await importAirship(path.join(FIXTURE, 'profiles/k8s-1.19'), tmp(), 'worker');
  const resolved = await resolveProfile(ab!.file);
  // the worker's own kubelet pins stay as they are: no kubelet.version against them
  assert.is(resolved.kubelet?.version, (await resolveProfile('worker')).kubelet?.version);
  assert.equal(kubeletModule.validate?.(resolved), []);
  assert.ok(
    ab!.unmapped.includes(
      'rootfs/multistrap-vars.yaml: k8s_version: Kubernetes 1.19.16 predates the pkgs.k8s.io repositories (they start at 1.24) and apt.kubernetes.io is retired: pick a current release',
    ),
  );
  assert.not.ok(ab!.unmapped.some((u) => u.startsWith('(defaults)')));
  if ('kubernetes' in profileSchema.shape)
    assert.equal((resolved as unknown as { kubernetes?: unknown }).kubernetes, { version: '1.19.16' });
});

test('importAirship: a YAML network_data.json is converted as the original did; a broken one writes nothing', async () => {
  const dir = tmp({
    'manifests/rootfs/multistrap-vars.yaml': '# none\n',
    'manifests/iso/user_data': '#cloud-config\n',
    'manifests/iso/network_data.json': 'links:\n  - id: eth0\n    type: phy\n',
    'manifests/iso/meta_data.json': '{"hostname": "site-node", "uuid": "u", "name": "site-node"}\n',
  });
  const out = path.join(dir, 'out');
  const [ab] = await importAirship(dir, out);
  assert.equal(JSON.parse(readFileSync(path.join(out, 'iso/network_data.json'), 'utf8')), {
    links: [{ id: 'eth0', type: 'phy' }],
  });
  assert.equal(
    ab!.configDriveArgs?.filter((a) => a.startsWith('--')),
    ['--user-data', '--network-data', '--meta-data'],
  );
  assert.ok(
    ab!.unmapped.includes('iso/network_data.json: YAML, converted to JSON as image-builder did (yq r -j)'),
  );
  assert.ok(ab!.unmapped.some((u) => u.startsWith('iso/meta_data.json: image-builder ignored it')));
  const bad = tmp({ 'rootfs/osconfig-vars.yaml': '{}\n', 'iso/network_data.json': '[1, 2]\n' });
  const badOut = path.join(bad, 'out');
  try {
    await importAirship(bad, badOut);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /iso\/network_data\.json holds a list, not an object/);
  }
  assert.not.ok(existsSync(badOut));
});

test('importAirship: a manifests/ folder with the early file names, and a base given as a path', async () => {
  const dir = tmp({
    'manifests/qcow-bundle-edge/qcow-edge/osconfig-edge-vars.yaml':
      'grub_cmdline_linux_default_append:\n  - name: quiet\n',
    'manifests/qcow-bundle-edge/qcow-edge/qcow-edge-vars.yaml': 'qcow_capacity: 30G\n',
    'mybase.yaml': 'name: mybase\nextends: base\nhostname: edge\n',
  });
  const out = path.join(dir, 'out');
  const written = await importAirship(dir, out, path.join(dir, 'mybase.yaml'));
  assert.equal(
    written.map((w) => w.name),
    ['airship-base', 'qcow-edge'],
  );
  assert.match(readFileSync(written[0]!.file, 'utf8'), /^extends: \.\.\/mybase\.yaml$/m);
  const edge = await resolveProfile(written[1]!.file);
  assert.is(edge.hostname, 'edge');
  assert.is(edge.disk?.size, '30G');
  assert.is(edge.grub?.cmdline?.at(-1), 'quiet');
});

test('importAirship: bad input is a UserError naming the problem, and writes nothing', async () => {
  const out = path.join(tmp(), 'out');
  const rejects = async (dir: string, pattern: RegExp) => {
    try {
      await importAirship(dir, out);
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.instance(e, UserError);
      assert.match((e as Error).message, pattern);
    }
  };
  await rejects(path.join(tmp(), 'missing'), /is not a folder/);
  await rejects(tmp({ 'notes.txt': 'hi' }), /no image-builder manifests found/);
  const bad = tmp({ 'rootfs/osconfig-vars.yaml': 'sysctl: [\n  - a\nfiles: x\n' });
  await rejects(bad, /rootfs\/osconfig-vars\.yaml: YAML syntax error/);
  assert.not.ok(existsSync(out));
});

test('cli: import-airship exits 0 with the files on stdout and warnings on stderr, 2 on bad input', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((c: string | Uint8Array) => out.push(String(c)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => err.push(String(c)) > 0) as typeof process.stderr.write;
  const dest = tmp();
  let ok: number;
  let bad: number;
  try {
    ok = await main(['import-airship', FIXTURE, '--out', dest]);
    bad = await main(['import-airship', path.join(dest, 'nowhere')]);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  assert.is(ok, 0);
  assert.equal(
    out.join('').trim().split('\n'),
    ['airship-base.yaml', 'control-plane.yaml', 'data-plane.yaml'].map((f) => path.join(dest, f)),
  );
  assert.match(err.join(''), /warning: \d+ items were not imported/);
  assert.ok(
    err
      .join('')
      .includes(
        `build the ISO with iso/ on its config drive: ib-native build --profile ${path.join(dest, 'airship-base.yaml')} --format iso --user-data ${path.join(dest, 'iso/user_data')} --network-data ${path.join(dest, 'iso/network_data.json')}\n`,
      ),
  );
  assert.match(
    err.join(''),
    /warning: data-plane: qcow-bundle\/data-plane\/qcow-vars\.yaml: partitions\[1\]\.flags/,
  );
  assert.is(bad, 2);
  assert.match(err.join(''), /error: .*nowhere is not a folder/);
});

test.run();
