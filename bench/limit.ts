/**
 * npm run bench:limit — issue 13: one cold build of workload W against the physical limit and a
 * debos-style raw pipeline on the same machine, then the boot of every W image with
 * `systemd-analyze` from inside it. A benchmark (a script), never a test.
 *
 * W = Debian 12 with linux-image-amd64, systemd-sysv, openssh-server, cloud-init, sudo, iproute2,
 * containerd (and what `minimal` needs to boot on a network: ifupdown, isc-dhcp-client).
 *
 *   engine   `build` of W, ISO + QCOW2, from an empty cache (stage and package caches)
 *   limit    the sum of, each measured on its own:
 *            (a) downloading W's package set (every .deb the image holds) from the mirror, 8 at once
 *            (b) mmdebstrap unpacking and configuring the set from local .debs with no fsync and
 *                no initramfs
 *            (c) one initramfs of that tree at the fastest zstd level (-1), MODULES=most as the
 *                images need (a bare-metal node boots from whatever disk controller it has)
 *            (d) packing both outputs at once: mksquashfs of the tree ‖ mkfs.ext4 -d + qemu-img
 *                convert (zlib clusters, as the engine writes)
 *   peer     a debos-style pipeline for one bootable, uncompressed BIOS QCOW2 of W: debootstrap
 *            (minbase) + apt-get of W's packages and GRUB in the chroot (with fsync and initramfs,
 *            downloading), a GPT disk on a loop device (bios_grub + root), mkfs.ext4 -d,
 *            grub-install + update-grub in the chroot (as debos's recipes do), qemu-img convert;
 *            booted on the same harness with the same seed as the engine's QCOW2
 *   warm     W rebuilt after a config-only change (one sysctl value): the ISO, the first QCOW2 of
 *            the rootfs (it makes the base disk and base QCOW2), the QCOW2 again; ratios to cold
 *   boots    each W image and the peer's booted in QEMU (BIOS/UEFI, QCOW2/ISO): seconds to
 *            `login:` and to the end of the first boot (cloud-init done, systemd running), and
 *            `systemd-analyze time` and `blame` printed by the booted image
 *
 * Prints a table and JSON, and writes bench/limit-results.json. Needs root; re-executes itself in
 * a private mount namespace like the CLI. IB_NATIVE_BENCH_BOOTS=0 skips the boots.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootImage } from '../src/boot/boot.ts';
import { build, planBuild } from '../src/build.ts';
import { silentLogger } from '../src/log.ts';
import { processRunner } from '../src/run/runner.ts';
import { QEMU_IMG_COROUTINES, qemuImgConvertArgv } from '../src/stages/disk.ts';
import { mksquashfsArgv } from '../src/stages/iso.ts';
import { installSet, mmdebstrapArgv } from '../src/stages/rootfs.ts';

import { machine, median, startBench } from './common.ts';

const ROOT = process.env.IB_NATIVE_BENCH_DIR ?? '/var/tmp/ib-native-bench-limit';
/**
 * How many times each image boots (round after round: peer, W QCOW2 and ISO on BIOS, then UEFI). One
 * first boot varies by several seconds here (the RSA host key's prime search alone by 3-9 s under
 * TCG), so the ratios are of medians.
 */
const BOOT_ROUNDS = Number(process.env.IB_NATIVE_BENCH_BOOT_ROUNDS ?? 1);
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DISTRO = 'debian-bookworm' as const;
const W_PACKAGES = [
  'cloud-init',
  'openssh-server',
  'sudo',
  'iproute2',
  'containerd',
  'ifupdown',
  'isc-dhcp-client',
  'less',
];
const BLAME_DONE = 'IBN-BLAME-DONE';
/** The peer's image: W as a debos recipe lists it, with the kernel, init and its BIOS boot loader. */
const PEER_PACKAGES = ['linux-image-amd64', 'systemd-sysv', 'initramfs-tools', 'grub-pc', ...W_PACKAGES];

/**
 * The peer's disk, as debos's image-partition + filesystem-deploy + a grub-install step make it: a
 * 4 GiB GPT disk on a loop device (1 MiB bios_grub, then root), root filled from the tree by
 * mkfs.ext4 -d, mounted, fstab by UUID, GRUB on the serial console with the engine's timeout (1 s),
 * grub-install to the loop device and update-grub in the chroot. Runs under `privately` (its mounts
 * vanish with it); the traps detach the loop device on any exit, Ctrl-C included.
 */
const PEER_DISK = `set -eu
raw=$1 tree=$2 mnt=$2.mnt
truncate -s 4G "$raw"
sgdisk -o -n 1:2048:+1M -t 1:ef02 -n 2:0:0 -t 2:8300 "$raw" >/dev/null
dev=$(losetup --find --show --partscan "$raw")
trap 'umount -R "$mnt" 2>/dev/null || true; partx -d "$dev" 2>/dev/null || true; losetup -d "$dev"' EXIT
trap 'exit 130' INT TERM
[ -b "\${dev}p2" ] || partx -a "$dev" || true
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b "\${dev}p2" ] && break; sleep 0.5; done
mkfs.ext4 -q -F -d "$tree" "\${dev}p2"
mkdir -p "$mnt" && mount "\${dev}p2" "$mnt"
uuid=$(blkid -s UUID -o value "\${dev}p2")
# a /dev of its own with the disk's nodes and the by-uuid link udev would make (none here), so that
# update-grub writes root=UUID=..., as it does in debos's build VM
mount -t tmpfs dev "$mnt/dev" && mount -t proc proc "$mnt/proc" && mount -t sysfs sys "$mnt/sys"
cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom "$dev" "\${dev}p1" "\${dev}p2" "$mnt/dev/"
mkdir -p "$mnt/dev/disk/by-uuid" && ln -s "../../\${dev#/dev/}p2" "$mnt/dev/disk/by-uuid/$uuid"
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" > "$mnt/etc/fstab"
printf '%s\\n' 'GRUB_TIMEOUT=1' 'GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200n8"' \\
  'GRUB_TERMINAL="console serial"' 'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"' >> "$mnt/etc/default/grub"
chroot "$mnt" grub-install --target=i386-pc "$dev"
chroot "$mnt" update-grub
grep -q "root=UUID=$uuid" "$mnt/boot/grub/grub.cfg"
`;

const runner = processRunner({ logger: silentLogger });
const seconds = (t0: number) => (Date.now() - t0) / 1000;
const say = (s: string) => process.stderr.write(`  ${s}\n`);

/** One command, timed; runs through the engine's runner (so a failure names the command). */
async function timedRun(name: string, argv: string[], env?: Record<string, string>): Promise<number> {
  const t0 = Date.now();
  await runner.run(argv, { context: name, ...(env ? { env } : {}) });
  const s = seconds(t0);
  say(`${name}: ${s.toFixed(1)} s`);
  return s;
}

/** `sh -c script` in a nested private mount namespace: its mounts vanish with it. */
const privately = (script: string, ...args: string[]) => [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  script,
  'sh',
  ...args,
];

/** A 4 GiB ext4 image filled from a tree with `mkfs.ext4 -d` (no mount, no copy). */
const mkfsFromTree = (raw: string, tree: string) => [
  'sh',
  '-c',
  'truncate -s 4G "$1" && mkfs.ext4 -q -F -d "$2" "$1"',
  'sh',
  raw,
  tree,
];

/** W; with `pidMax`, W after a config-only change (one sysctl value). */
function profileW(dir: string, pidMax?: number): string {
  const file = path.join(dir, pidMax === undefined ? 'w.ts' : `w-${pidMax}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';
export default defineProfile({
  name: 'w',
  extends: '${path.join(REPO, 'profiles/minimal.ts')}',
  distro: '${DISTRO}',
  packages: ${JSON.stringify(W_PACKAGES)},${pidMax === undefined ? '' : `\n  sysctl: { 'kernel.pid_max': '${pidMax}' },`}
});
`,
  );
  return file;
}

/** Prints systemd's view of the boot once it is over, then the done marker. */
const BLAME_SCRIPT = `#!/bin/sh
systemctl is-system-running --wait >/dev/null 2>&1
cloud-init status --wait >/dev/null 2>&1
{ echo "IBN-BLAME time $(systemd-analyze time 2>&1 | head -n 1)"
  systemd-analyze blame 2>&1 | head -n 12 | sed 's/^ */IBN-BLAME unit /'
  echo "IBN-BLAME critical $(systemd-analyze critical-chain --no-pager 2>&1 | tail -n +3 | head -n 8 | tr -s ' ' | tr '\\n' ';')"
  cloud-init analyze blame 2>&1 | grep '(' | head -n 6 | sed 's/^ */IBN-BLAME module /'
  echo ${BLAME_DONE}; } >/dev/ttyS0
`;

function blameUserData(): string {
  return [
    '#cloud-config',
    'write_files:',
    '  - path: /usr/local/sbin/ibn-blame',
    "    permissions: '0755'",
    '    encoding: b64',
    `    content: ${Buffer.from(BLAME_SCRIPT).toString('base64')}`,
    'runcmd:',
    '  - [ systemd-run, --unit=ibn-blame, /bin/sh, /usr/local/sbin/ibn-blame ]',
    '',
  ].join('\n');
}

interface Boot {
  image: string;
  firmware: 'bios' | 'uefi';
  /** Which boot of the image this is, from 1 (every one is a first boot: a throw-away overlay). */
  round: number;
  /** Seconds from the start of the boot to `login:` on the console (polled every 0.2 s). */
  login?: number;
  /** Seconds to the end of the first boot: cloud-init done, systemd running, the blame printed. */
  done?: number;
  failed?: string;
  time?: string;
  blame: string[];
  /** cloud-init's slowest modules (`cloud-init analyze blame`): where its units spend their time. */
  modules: string[];
  critical?: string;
}

async function bootW(
  image: string,
  firmware: 'bios' | 'uefi',
  round: number,
  seedDir?: string,
): Promise<Boot> {
  const log = `${image}.${firmware}${round > 1 ? `.${round}` : ''}.console`;
  rmSync(log, { force: true });
  const b: Boot = { image: path.basename(image), firmware, round, blame: [], modules: [] };
  const t0 = Date.now();
  // the console log is written as it arrives: the first `login:` in it is the login time
  const poll = setInterval(() => {
    if (b.login === undefined && existsSync(log) && /login: */.test(readFileSync(log, 'latin1')))
      b.login = seconds(t0);
  }, 200);
  try {
    const r = await bootImage(runner, {
      image,
      firmware,
      timeoutSec: 900,
      expect: [BLAME_DONE],
      consoleLog: log,
      logger: silentLogger,
      ...(seedDir ? { seedDir } : {}),
    });
    b.done = r.seconds;
  } catch (e) {
    b.failed = (e as Error).message.split('\n')[0];
  } finally {
    clearInterval(poll);
  }
  const text = readFileSync(log, 'utf8').replace(/\r/g, '');
  for (const m of text.matchAll(/IBN-BLAME (time|unit|module|critical) ([^\n]*)/g)) {
    if (m[1] === 'time') b.time = m[2]!.trim();
    else if (m[1] === 'critical') b.critical = m[2]!.trim();
    else if (m[1] === 'module') b.modules.push(m[2]!.trim().replace(/^0*(\d+\.\d)\d*s \((.*)\)$/, '$2 $1'));
    else b.blame.push(m[2]!.trim());
  }
  say(
    `boot ${b.image} ${firmware}: ${b.failed ?? `login: in ${b.login?.toFixed(1)} s, first boot done in ${b.done?.toFixed(1)} s`}; ${b.time ?? ''}`,
  );
  return b;
}

/** The seconds (to `login:` or to the end of the first boot) of each image and firmware, a boot that failed left out. */
function samples(boots: readonly Boot[], what: 'login' | 'done'): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const b of boots) {
    const v = b[what];
    if (v === undefined) continue;
    const key = `${b.image} ${b.firmware}`;
    out.set(key, [...(out.get(key) ?? []), v]);
  }
  return out;
}

/** The median of those seconds. */
function medians(boots: readonly Boot[], what: 'login' | 'done'): Record<string, number> {
  return Object.fromEntries([...samples(boots, what)].map(([key, xs]) => [key, median(xs)]));
}

/** Each engine image's median seconds over the peer's. */
function versusPeer(boots: readonly Boot[], what: 'login' | 'done'): Record<string, number> {
  const m = medians(boots, what);
  const peer = m['peer.qcow2 bios'];
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(m))
    if (peer !== undefined && key !== 'peer.qcow2 bios') out[key] = v / peer;
  return out;
}

async function main(): Promise<number> {
  if (!Number.isInteger(BOOT_ROUNDS) || BOOT_ROUNDS < 1) {
    process.stderr.write('bench:limit: IB_NATIVE_BENCH_BOOT_ROUNDS must be a whole number of 1 or more\n');
    return 2;
  }
  const stop = await startBench('bench:limit', ROOT);
  if (stop !== undefined) return stop;
  const w = profileW(ROOT);
  const cache = path.join(ROOT, 'cache');
  const out = path.join(ROOT, 'out');
  const scratch = path.join(ROOT, 'scratch');
  mkdirSync(scratch, { recursive: true });
  const userData = path.join(ROOT, 'user_data');
  writeFileSync(userData, blameUserData());

  // the engine, cold: empty stage and package caches
  let t0 = Date.now();
  const r = await build(
    { profile: w, overrides: {}, outputDir: out, cacheDir: cache, userData },
    { runner, logger: silentLogger },
  );
  const engine = { wall: seconds(t0), stages: r.stages };
  say(`engine cold W (ISO + QCOW2): ${engine.wall.toFixed(1)} s`);

  // warm rebuilds of W after a config-only change, into their own folder (the cold images are booted
  // below): the ISO; the first QCOW2 of the rootfs, which makes the base disk and base QCOW2; the QCOW2
  const warm: Record<string, { wall: number; stages: Record<string, number> }> = {};
  for (const [name, format, pidMax] of [
    ['iso', 'iso', 100101],
    ['firstQcow2', 'qcow2', 100102],
    ['qcow2', 'qcow2', 100103],
  ] as const) {
    t0 = Date.now();
    const wr = await build(
      {
        profile: profileW(ROOT, pidMax),
        overrides: { formats: [format] },
        outputDir: path.join(ROOT, 'out-warm'),
        cacheDir: cache,
      },
      { runner, logger: silentLogger },
    );
    warm[name] = { wall: seconds(t0), stages: wr.stages };
    say(
      `engine warm W ${name}: ${warm[name]!.wall.toFixed(1)} s (${((100 * warm[name]!.wall) / engine.wall).toFixed(1)} % of cold)`,
    );
  }

  const plan = await planBuild(w, {});
  const pkgs = installSet(plan.rootfs);
  const packages = path.join(cache, 'packages');
  const rootfs = path.join(
    cache,
    'rootfs',
    readdirSync(path.join(cache, 'rootfs')).find((n) => !n.startsWith('.'))!,
  );
  const tree = path.join(rootfs, 'tree');

  // (a) the download of every .deb the image holds, 8 at once, from the URIs apt gives for them
  const uris = await runner.run(
    [
      'chroot',
      tree,
      'sh',
      '-c',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a JS template
      "apt-get -qq download --print-uris $(dpkg-query -W -f='${binary:Package}=${Version} ')",
    ],
    { context: 'package URIs' },
  );
  const debs = [...uris.stdout.matchAll(/^'([^']+)' (\S+) (\d+) /gm)].map((m) => ({
    url: m[1]!,
    file: m[2]!,
    size: Number(m[3]),
  }));
  const dl = path.join(scratch, 'download');
  mkdirSync(dl, { recursive: true });
  const curlConfig = path.join(scratch, 'curl.cfg');
  writeFileSync(
    curlConfig,
    debs.map((d) => `url = "${d.url}"\noutput = "${path.join(dl, d.file)}"\n`).join(''),
  );
  const download = await timedRun(`(a) download ${debs.length} .debs`, [
    'curl',
    '--fail',
    '--silent',
    '--show-error',
    '--parallel',
    '--parallel-max',
    '8',
    '--config',
    curlConfig,
  ]);
  const setBytes = debs.reduce((a, d) => a + d.size, 0);
  rmSync(dl, { recursive: true, force: true });

  // (b) unpack + configure from local .debs, no fsync, no initramfs (a stub during the install)
  const limitTree = path.join(scratch, 'limit-tree');
  const mm = mmdebstrapArgv(plan.distro, limitTree, packages).filter(
    (a) => !a.startsWith('--customize-hook'),
  );
  const include = mm.findIndex((a) => a.startsWith('--include='));
  mm[include] = `${mm[include]},${pkgs.join(',')}`;
  mm.splice(
    1,
    0,
    '--essential-hook=chroot "$1" dpkg-divert --local --rename --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"',
  );
  const unpack = await timedRun('(b) mmdebstrap the set, no fsync, no initramfs', mm);

  // (c) one initramfs at zstd -1, MODULES=most
  const kver = readdirSync(path.join(limitTree, 'lib/modules'))[0]!;
  const initramfs = await timedRun(
    '(c) one initramfs (zstd -1, MODULES=most)',
    privately(
      'mount -t proc proc "$1/proc" && mount -t sysfs sys "$1/sys" && exec chroot "$1" mkinitramfs -c zstd -l 1 -o /boot/initrd.img-"$2" "$2"',
      limitTree,
      kver,
    ),
  );

  // (d) both outputs packed at once from the finished tree
  const rawDisk = path.join(scratch, 'disk.raw');
  t0 = Date.now();
  await Promise.all([
    timedRun(
      '(d) mksquashfs',
      mksquashfsArgv(limitTree, path.join(scratch, 'fs.squashfs'), {
        compression: 'lz4',
        threads: os.availableParallelism(),
        exclude: ['boot'],
      }),
    ),
    (async () => {
      await timedRun('(d) mkfs.ext4 -d', mkfsFromTree(rawDisk, limitTree));
      await timedRun(
        '(d) qemu-img convert (zlib)',
        qemuImgConvertArgv(rawDisk, path.join(scratch, 'limit.qcow2'), true, 'zlib', QEMU_IMG_COROUTINES),
      );
    })(),
  ]);
  const pack = seconds(t0);
  say(`(d) both packed at once: ${pack.toFixed(1)} s`);
  rmSync(limitTree, { recursive: true, force: true });
  for (const f of ['fs.squashfs', 'limit.qcow2', 'disk.raw']) rmSync(path.join(scratch, f), { force: true });

  // the peer: debos-style, one bootable uncompressed BIOS QCOW2 of W, cold (its own package cache)
  const peerTree = path.join(scratch, 'peer-tree');
  const peerCache = path.join(scratch, 'peer-packages');
  const peerQcow2 = path.join(ROOT, 'out-peer', 'peer.qcow2');
  mkdirSync(peerCache, { recursive: true });
  mkdirSync(path.dirname(peerQcow2), { recursive: true });
  t0 = Date.now();
  await timedRun('peer debootstrap minbase', [
    'debootstrap',
    '--variant=minbase',
    `--cache-dir=${peerCache}`,
    plan.distro.suite,
    peerTree,
    plan.distro.mirror,
  ]);
  await timedRun(
    'peer apt-get install (W + GRUB, fsync, initramfs)',
    privately(
      [
        'mount -t proc proc "$1/proc"',
        'mount -t sysfs sys "$1/sys"',
        'mount --rbind /dev "$1/dev"',
        'mount --bind "$2" "$1/var/cache/apt/archives"',
        `printf 'deb %s %s main\\n' "$3" "$4" > "$1/etc/apt/sources.list"`,
        'chroot "$1" apt-get -q update',
        `exec chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends install ${PEER_PACKAGES.join(' ')}`,
      ].join(' && '),
      peerTree,
      peerCache,
      plan.distro.mirror,
      plan.distro.suite,
    ),
  );
  await timedRun(
    'peer disk: partitions, mkfs.ext4 -d, grub-install',
    privately(PEER_DISK, rawDisk, peerTree),
  );
  await timedRun(
    'peer qemu-img convert (uncompressed)',
    qemuImgConvertArgv(rawDisk, peerQcow2, false, 'zlib', QEMU_IMG_COROUTINES),
  );
  const peer = seconds(t0);
  say(`peer (debos-style single QCOW2): ${peer.toFixed(1)} s`);
  rmSync(scratch, { recursive: true, force: true });

  const limit = download + unpack + initramfs + pack;
  const size = (f: string) => statSync(path.join(out, f)).size;

  // the boots, with systemd's own account of each
  const boots: Boot[] = [];
  if (process.env.IB_NATIVE_BENCH_BOOTS !== '0') {
    const seed = path.join(ROOT, 'seed');
    mkdirSync(seed, { recursive: true });
    writeFileSync(path.join(seed, 'user-data'), blameUserData());
    for (let round = 1; round <= BOOT_ROUNDS; round++) {
      boots.push(await bootW(peerQcow2, 'bios', round, seed));
      for (const fw of ['bios', 'uefi'] as const) {
        boots.push(await bootW(path.join(out, 'w.qcow2'), fw, round, seed));
        boots.push(await bootW(path.join(out, 'w.iso'), fw, round));
      }
    }
  }

  const result = {
    machine: machine(),
    workload: { packages: W_PACKAGES, debs: debs.length, setMiB: setBytes / 2 ** 20 },
    engine: { ...engine, isoMiB: size('w.iso') / 2 ** 20, qcow2MiB: size('w.qcow2') / 2 ** 20 },
    limit: { download, unpack, initramfs, pack, sum: limit },
    peer,
    warm,
    ratios: {
      engineVsLimit: engine.wall / limit,
      engineVsPeer: engine.wall / peer,
      warmIsoVsCold: warm.iso!.wall / engine.wall,
      warmQcow2VsCold: warm.qcow2!.wall / engine.wall,
      loginVsPeer: versusPeer(boots, 'login'),
      doneVsPeer: versusPeer(boots, 'done'),
    },
    bootRounds: BOOT_ROUNDS,
    bootMedians: { login: medians(boots, 'login'), done: medians(boots, 'done') },
    boots,
  };
  const f1 = (n: number) => n.toFixed(1);
  process.stdout.write(
    [
      '| | seconds |',
      '|---|---|',
      `| engine: cold W, ISO ${f1(result.engine.isoMiB)} MiB + QCOW2 ${f1(result.engine.qcow2MiB)} MiB | ${f1(engine.wall)} (${Object.entries(
        engine.stages,
      )
        .map(([k, v]) => `${k} ${f1(v)}`)
        .join(', ')}) |`,
      `| (a) download ${debs.length} .debs, ${f1(setBytes / 2 ** 20)} MiB | ${f1(download)} |`,
      `| (b) unpack + configure, no fsync | ${f1(unpack)} |`,
      `| (c) one initramfs, zstd -1 | ${f1(initramfs)} |`,
      `| (d) ISO ‖ QCOW2 packing | ${f1(pack)} |`,
      `| physical limit (a+b+c+d) | ${f1(limit)} |`,
      `| peer: debos-style single QCOW2 | ${f1(peer)} |`,
      '',
      `engine / limit = ${result.ratios.engineVsLimit.toFixed(2)}x, engine / peer = ${result.ratios.engineVsPeer.toFixed(2)}x`,
      `warm W after a sysctl change: ISO ${f1(warm.iso!.wall)} s (${f1(100 * result.ratios.warmIsoVsCold)} % of cold), first QCOW2 of the rootfs ${f1(warm.firstQcow2!.wall)} s, QCOW2 ${f1(warm.qcow2!.wall)} s (${f1(100 * result.ratios.warmQcow2VsCold)} % of cold)`,
      '',
      ...boots.map(
        (b) =>
          `boot ${b.image} ${b.firmware}${BOOT_ROUNDS > 1 ? ` (round ${b.round})` : ''}: ${b.failed ?? `login: ${b.login === undefined ? '?' : f1(b.login)} s, first boot done ${f1(b.done!)} s`}; ${b.time ?? 'no systemd-analyze'}\n  slowest units: ${b.blame.slice(0, 6).join(', ')}\n  slowest cloud-init modules: ${b.modules.join(', ') || '?'}`,
      ),
      ...(BOOT_ROUNDS > 1
        ? [...samples(boots, 'login')].map(
            ([key, xs]) =>
              `median of ${xs.length} boots, ${key}: login: ${f1(median(xs))} s, first boot done ${f1(result.bootMedians.done[key] ?? Number.NaN)} s`,
          )
        : []),
      '',
    ].join('\n'),
  );
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(REPO, 'bench/limit-results.json'), `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    process.stderr.write(`bench:limit failed: ${(e as Error).stack}\n`);
    process.exit(1);
  },
);
