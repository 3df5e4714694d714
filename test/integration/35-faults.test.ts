/**
 * Issue 5, builds that survive faults. A build is interrupted (SIGINT, SIGTERM, SIGKILL of the
 * main process) at points across every stage, and runs out of disk space in its output folder
 * and in its work folder. Each point is found by watching the build's process tree (the command
 * that marks it, e.g. `qemu-img convert`) or its output folder, then the signal is sent (or the
 * folder is filled with fallocate). Afterwards: no process of the build is left (the recorded
 * tree and its private mount namespace are gone, so are its mounts), no loop/nbd device, the
 * output folder holds byte for byte what it held, the cache holds only complete entries, and
 * finally the next build succeeds and produces good images.
 *
 * Every stage is hit in every run; within the iso, qcow2 and rootfs stages the points are sampled
 * and the signals rotated by IB_NATIVE_FAULT_SEED (default: the day number), so that successive
 * runs cover every point with every signal. IB_NATIVE_TEST_FULL=1 runs every point.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertCleanHost,
  buildNamespaces,
  CACHE,
  cacheLeftovers,
  cli,
  cliProcess,
  DISTRO,
  ownScratch,
  type Proc,
  processesInNamespaces,
  processTree,
  REPO,
  snapshot,
  stillRunning,
} from '../helpers/host.ts';

const DIR = ownScratch('faults');
const OUT = path.join(DIR, 'out');
/** A small tmpfs (mounted here) for the disk-full points: an output folder and a cache folder. */
const SMALL = path.join(DIR, 'small');
const SMALL_OUT = path.join(SMALL, 'out');
const SMALL_CACHE = path.join(SMALL, 'cache');
const NAME = 'faults';
const FULL = process.env.IB_NATIVE_TEST_FULL === '1';
const SEED = Number(process.env.IB_NATIVE_FAULT_SEED ?? Math.floor(Date.now() / 86_400_000));
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGKILL'] as const;
type Signal = (typeof SIGNALS)[number];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Stage = 'rootfs' | 'configure' | 'iso' | 'qcow2' | 'publish';
interface Point {
  stage: Stage;
  what: string;
  format: 'iso' | 'qcow2';
  /** Profile fields added to minimal's (TypeScript source). */
  profile?: string;
  args?: string[];
  /** The command that marks the point, as the build logs it (-v) when starting it. */
  command?: RegExp;
  /** Or a display line that marks it (after the stamp): a moment between commands. */
  line?: RegExp;
  /** Then wait for a process of the build running this: a moment inside a long command. */
  inside?: (argv: string[]) => boolean;
  /** Whether the signal must stop that very command (false: the point lies between commands). */
  stops?: boolean;
  /**
   * A command of a few milliseconds may complete before the signal lands: then the build must
   * have been interrupted during it or one of these that follow it.
   */
  mayComplete?: RegExp;
  /** What happens at the point: a signal (the default), or a folder filling up. */
  fill?: 'output' | 'cache';
}

const prog = (argv: string[]) => path.basename(argv[0] ?? '');

const POINTS: Point[] = [
  {
    stage: 'rootfs',
    what: 'debootstrap downloading and unpacking (a rootfs not in the cache)',
    format: 'iso',
    profile: `packages: ['bc']`,
    // --refresh: bootstrap even when an earlier run left this rootfs in the cache
    args: ['--bootstrapper', 'debootstrap', '--refresh'],
    command: /^debootstrap --variant=minbase /,
    inside: (a) => ['wget', 'gpgv', 'dpkg-deb', 'ar', 'tar'].includes(prog(a)),
  },
  {
    stage: 'rootfs',
    what: 'apt-get running inside mmdebstrap (a rootfs not in the cache)',
    format: 'iso',
    args: ['--bootstrapper', 'mmdebstrap', '--refresh'],
    command: /^mmdebstrap /,
    inside: (a) => prog(a) === 'apt-get',
  },
  {
    stage: 'configure',
    what: 'a user script running',
    format: 'qcow2',
    profile: `userScripts: [{ name: 'hang', content: '#!/bin/sh\\nsleep 3017\\n' }]`,
    command: /^chroot \S+\/layers\/common\/merged .* \/var\/tmp\/ib-native\/hang$/,
    inside: (a) => prog(a) === 'sleep' && a[1] === '3017',
  },
  {
    stage: 'iso',
    what: 'mksquashfs of the base squashfs (xz: not in the cache)',
    format: 'iso',
    profile: `iso: { compression: 'xz' }`,
    command: /^mksquashfs \S+\/rootfs\/\w+\/tree \S+\/squashfs\/\.\w+\.building-\d+\/filesystem\.squashfs /,
  },
  {
    stage: 'iso',
    what: 'mksquashfs of the config layer',
    format: 'iso',
    // 64 MiB that do not compress: the layer takes a moment to pack
    profile: `userScripts: [{ name: 'ballast', content: '#!/bin/sh\\nhead -c 64M /dev/urandom > /var/lib/ib-native-ballast\\n' }]`,
    command: /^mksquashfs \S+\/config-common /,
  },
  {
    stage: 'iso',
    what: 'grub-mkimage of the BIOS image',
    format: 'iso',
    command: /^grub-mkimage --format=i386-pc-eltorito /,
  },
  {
    stage: 'iso',
    what: 'xorriso',
    format: 'iso',
    command: /^xorriso -as mkisofs /,
  },
  {
    stage: 'qcow2',
    what: 'mke2fs -d filling the base disk (18G: not in the cache)',
    format: 'qcow2',
    profile: `disk: { size: '18G' }`,
    command: /^mkfs\.ext4 .* -d \S+\/views\/root \S+\/disk\/\.\w+\.building-\d+\/disk\.raw /,
  },
  {
    stage: 'qcow2',
    what: 'cp --sparse of the base disk',
    format: 'qcow2',
    command: /^cp --sparse=auto /,
  },
  {
    stage: 'qcow2',
    what: 'rsync of the configured tree',
    format: 'qcow2',
    command: /^rsync .* --delete$/,
  },
  {
    stage: 'qcow2',
    // the signed chain (Secure Boot, the default) copied into the ESP: shim first
    what: 'mcopy of shim into the ESP',
    format: 'qcow2',
    command: /^mcopy -o -i \S+ \S+ ::\/EFI\/BOOT\/BOOTX64\.EFI$/,
    // a 1 MB copy into a FAT image in memory: often over before the signal arrives
    mayComplete: /^mcopy -o -i /,
  },
  {
    stage: 'qcow2',
    // uncompressed: converted as a whole (a compressed QCOW2 is the base QCOW2 and a delta)
    what: 'qemu-img convert of the raw disk (not compressed)',
    format: 'qcow2',
    profile: `qcow2: { compress: false }`,
    command: /^qemu-img convert -f raw -O qcow2 -m /,
  },
  {
    stage: 'qcow2',
    what: 'qemu-img convert of the base disk (17G: the base QCOW2 not in the cache)',
    format: 'qcow2',
    profile: `disk: { size: '17G' }`,
    command: /^qemu-img convert .* \S+\/qcow2\/\.\w+\.building-\d+\/disk\.qcow2$/,
  },
  {
    stage: 'qcow2',
    what: 'qemu-io writing the changed clusters into the copy of the base QCOW2',
    format: 'qcow2',
    command: /^qemu-io -f qcow2 /,
  },
  {
    stage: 'publish',
    what: 'the image staged, the manifest not yet written',
    format: 'iso',
    // the ISO's stage ends once its image is staged in the output folder; the checksums, the SBOM
    // and the manifest follow, in the build's own process (no command marks them)
    line: /^iso: done in /,
    stops: false,
  },
];

const DISK_FULL: Point[] = [
  {
    stage: 'qcow2',
    what: 'the output folder fills up as the base QCOW2 is copied into it',
    format: 'qcow2',
    fill: 'output',
    command: /^cp --reflink=auto -- \S+\/qcow2\/\w+\/disk\.qcow2 /,
  },
  {
    stage: 'iso',
    what: 'the work folder fills up as the ISO stage starts',
    format: 'iso',
    fill: 'cache',
    command: /^mount -t overlay .*\/layers\/live\/merged$/,
  },
];

/** Per run: every stage, and within a stage `n` of its points, rotated by the seed. */
function sample(points: Point[]): Point[] {
  if (FULL) return points;
  const per: Record<Stage, number> = { rootfs: 1, configure: 1, iso: 2, qcow2: 2, publish: 1 };
  return (Object.keys(per) as Stage[]).flatMap((stage) => {
    const of = points.filter((p) => p.stage === stage);
    return Array.from({ length: Math.min(per[stage], of.length) }, (_, i) => of[(SEED + i) % of.length]!);
  });
}

const chosen = sample(POINTS).map((p, i) => ({ point: p, signal: SIGNALS[(SEED + i) % 3]! }));
const timings: string[] = [];

function profile(extra = ''): string {
  const file = path.join(DIR, `${NAME}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: '${NAME}', extends: '${path.join(REPO, 'profiles/minimal.ts')}', files: [{ path: '/etc/ib-native-fault', content: 'x\\n' }], ${extra} });\n`,
  );
  return file;
}

/** `build` arguments for the faults profile (with these extra profile fields). */
function buildArgs(format: string, out: string, extra?: string): string[] {
  return ['build', '--profile', profile(extra), '--distro', DISTRO, '--format', format, '--output', out];
}

function previousOutputs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of ['iso', 'iso.sha256', 'qcow2', 'qcow2.sha256', 'iso.spdx.json', 'manifest.json'])
    writeFileSync(path.join(dir, `${NAME}.${f}`), `previous good ${f}\n`);
}

/**
 * Fill a filesystem in 16 MiB pieces (the build is stopped meanwhile). One fallocate of all the free space frees everything it took
 * when the build's own write wins the race for the last blocks: the filesystem then had room again
 * when the build measured it (seen on a loaded host). A failed piece frees at most 16 MiB, well under
 * what the engine counts as full (64 MiB).
 */
async function fillUp(dir: string): Promise<void> {
  const piece = 16 * 1024 * 1024;
  for (let i = 0; i < 400; i++) {
    const s = statfsSync(dir);
    const free = Number(s.bavail) * Number(s.bsize);
    if (free < 64 * 1024) return;
    await execa('fallocate', ['-l', String(Math.min(free, piece)), path.join(dir, `ballast-${i}`)], {
      reject: false,
    });
  }
}

/** Sends `signal` to every process of a build's tree (gone ones skipped), parents first. */
function signalTree(tree: Proc[], signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const q of tree) {
    try {
      process.kill(q.pid, signal);
    } catch {
      // ended meanwhile
    }
  }
}

/**
 * The display's lines one by one as they arrive (after their stamp), with the command when the line
 * is one the build logs (-v) as it starts it.
 */
function onLine(child: ResultPromise, fn: (line: string, command?: string) => void): () => string {
  let log = '';
  let partial = '';
  child.all?.on('data', (d: Buffer) => {
    log += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      // plain display lines: `<UTC time> [profile] text`, a command's `<UTC time> [profile]   $ argv`
      const text = l.replace(/^(?:\[[\s\d.]+s\]|\S+Z \[[^\]]+\]) /, '');
      fn(text, /^\s*\$ (.*?)(?: {3}\(in .*\))?$/.exec(text)?.[1]);
    }
  });
  return () => log;
}

/** The command that was running when the build got the signal, and how it ended (from the -v log). */
function commandAtInterrupt(log: string): { command?: string; ended?: string } {
  const lines = log.split('\n');
  const at = lines.findIndex((l) => /SIG[A-Z]+ received: stopping and cleaning up/.test(l));
  if (at < 0) return {};
  const started = lines
    .slice(0, at)
    .reverse()
    .find((l) => /\]\s+\$ /.test(l));
  const ended = lines.slice(at).find((l) => /\]\s+ {2}-> /.test(l));
  return {
    command: started?.replace(/^.*?\]\s+\$ /, '').replace(/ {3}\(in .*\)$/, ''),
    ended: ended?.replace(/^.*?-> (\S+) in .*$/, '$1'),
  };
}

interface Run {
  point: Point;
  signal?: Signal;
  label: string;
  child: ResultPromise;
  out: string;
  cache: string;
  done: () => boolean;
}

async function runPoint(point: Point, signal?: Signal): Promise<void> {
  const t0 = Date.now();
  const out = point.fill === 'output' ? SMALL_OUT : OUT;
  const cache = point.fill === 'cache' ? SMALL_CACHE : CACHE;
  const before = snapshot(out);
  const child = cliProcess([...buildArgs(point.format, out, point.profile), '-v', ...(point.args ?? [])], {
    cache,
  });
  let done = false;
  void child.then(() => {
    done = true;
  });
  const label = `${point.stage}: ${point.what}${signal ? ` (${signal})` : ''}`;
  try {
    await faultAndCheck({ point, signal, label, child, out, cache, done: () => done }, before);
  } finally {
    // a failed assertion must not leave the build running into the next point
    if (!done) {
      child.kill('SIGKILL');
      await child;
    }
  }
  timings.push(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Reach the point, act (signal or fill), then check that the build left nothing behind. */
async function faultAndCheck(run: Run, before: string[]): Promise<void> {
  const { point: p, child, label } = run;
  // act the moment the point is reached: inside the log handler, before the command can finish
  let tree: Proc[] | undefined;
  let staged: string[] = [];
  const act = () => {
    tree = processTree(child.pid!);
    staged = readdirSync(run.out).filter((n) => n.includes('.partial-'));
    if (!p.fill) child.kill(run.signal);
    // a disk-full point: the build waits, stopped, until the filesystem is full (a build that went on
    // while it filled could finish its small writes first and succeed: seen under load)
    else signalTree(tree, 'SIGSTOP');
  };
  let seen = false;
  const log = onLine(child, (line, command) => {
    const marks = p.line ? p.line.test(line) : command !== undefined && p.command?.test(command);
    if (seen || !marks) return;
    seen = true;
    if (!p.inside) return act();
    const poll = () => {
      if (run.done()) return;
      if (processTree(child.pid!).some((q) => p.inside!(q.argv))) act();
      else setTimeout(poll, 15);
    };
    poll();
  });
  while (!tree && !run.done()) await sleep(20);
  assert.ok(tree, `${label}: never reached:\n${log().slice(-3000)}`);
  const namespaces = buildNamespaces(tree!);
  if (p.fill) {
    try {
      await fillUp(SMALL);
    } finally {
      signalTree(tree!, 'SIGCONT');
    }
  }
  try {
    const r = await child;
    // after SIGKILL the inner build (told by unshare with SIGTERM) may still be cleaning up
    for (let i = 0; i < 240 && (stillRunning(tree!).length || processesInNamespaces(namespaces).length); i++)
      await sleep(250);
    const text = log();
    if (p.fill) {
      assert.is(r.exitCode, 2, `${label}: exit ${r.exitCode}\n${text.slice(-3000)}`);
      const flag = p.fill === 'output' ? `--output ${SMALL_OUT}` : `--cache-dir ${SMALL_CACHE}`;
      assert.ok(
        text.includes(`error: no space left on device (ENOSPC) in ${flag} `),
        `${label}: no ENOSPC error naming ${flag}:\n${text.slice(-3000)}`,
      );
      assert.match(text, /\nhint: free space there or point --/);
      console.log(
        text
          .split('\n')
          .filter((l) => /^(error|hint): /.test(l))
          .join('\n'),
      );
    } else {
      if (run.signal === 'SIGKILL') assert.is(r.signal, 'SIGKILL');
      else assert.is(r.exitCode, 130, `${label}: exit ${r.exitCode}\n${text.slice(-3000)}`);
      // the inner build got the signal (SIGKILL of the main process reaches it as SIGTERM) and cleaned up
      assert.match(text, /interrupted by SIG(INT|TERM); mounts, devices and partial files were cleaned up/);
      const at = commandAtInterrupt(text);
      if (p.stops !== false) {
        const completed = at.ended === '0' && p.mayComplete?.test(at.command ?? '');
        assert.ok(
          at.command && (p.command?.test(at.command) || completed),
          `${label}: interrupted during ${at.command}, not at the point\n${text.slice(-3000)}`,
        );
        // cut short: killed by the signal, or exiting on it in its own way (rsync 20, debootstrap 143)
        assert.ok(
          completed || (at.ended !== undefined && at.ended !== '0'),
          `${label}: ${at.command} completed (${at.ended}) instead of being stopped`,
        );
      } else {
        assert.ok(
          staged.some((n) => n.startsWith(`.${NAME}.${p.format}.partial-`)),
          `${label}: the image was not staged yet (${staged.join(', ')})`,
        );
      }
    }
    assert.equal(stillRunning(tree!), [], `${label}: processes of the build left`);
    assert.equal(processesInNamespaces(namespaces), [], `${label}: processes left in the build's namespace`);
    assert.equal(snapshot(run.out), before, `${label}: the output folder changed`);
    const pids = tree!.map((q) => String(q.pid));
    const ours = cacheLeftovers(run.cache).filter(
      (l) => pids.some((pid) => l.includes(pid)) || /entry\.json/.test(l),
    );
    assert.equal(ours, [], `${label}: the cache holds incomplete entries`);
    assertCleanHost(assert, label, run.cache);
  } finally {
    // the ballast goes whatever the verdict, or the next disk-full point starts on a full filesystem
    if (p.fill)
      for (const f of readdirSync(SMALL).filter((n) => n.startsWith('ballast-'))) rmSync(path.join(SMALL, f));
  }
}

test.before(async () => {
  await execa('umount', [SMALL], { reject: false });
  rmSync(DIR, { recursive: true, force: true });
  previousOutputs(OUT);
  mkdirSync(SMALL, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'ib-native-faults', SMALL]);
  previousOutputs(SMALL_OUT);
  // a cache folder on the small filesystem, whose entries are those of the shared cache
  mkdirSync(SMALL_CACHE);
  for (const kind of ['rootfs', 'squashfs', 'disk', 'qcow2'])
    symlinkSync(path.join(CACHE, kind), path.join(SMALL_CACHE, kind));
  console.log(
    `fault points (seed ${SEED}${FULL ? ', all points' : ''}):\n${chosen.map((c) => `  ${c.point.stage}: ${c.point.what} <- ${c.signal}`).join('\n')}`,
  );
});

test.after(async () => {
  await execa('umount', [SMALL], { reject: false });
  console.log(`times:\n  ${timings.join('\n  ')}`);
});

test('not enough space is refused before any work, naming the folder', async () => {
  const before = snapshot(SMALL_OUT);
  const r = await cli(buildArgs('qcow2', SMALL_OUT));
  assert.is(r.exitCode, 2, r.all.slice(-2000));
  assert.match(
    r.stderr,
    new RegExp(`not enough free disk space:\\n {2}- --output ${SMALL_OUT}: .* free, the build needs about`),
  );
  assert.match(
    r.stderr,
    /hint: free some space \(`ib-native cache prune --older-than N` removes old cache entries\), or point --cache-dir \/ --output at a bigger disk/,
  );
  assert.equal(snapshot(SMALL_OUT), before);
  // room for the up-front estimate; the points below fill it while the build runs
  await execa('mount', ['-o', 'remount,size=1536m', SMALL]);
});

for (const { point, signal } of chosen)
  test(`${signal} at ${point.stage}: ${point.what}`, async () => {
    await runPoint(point, signal);
  });

for (const point of DISK_FULL)
  test(`disk full at ${point.stage}: ${point.what}`, async () => {
    await runPoint(point);
  });

test('the next build succeeds, reuses the cached rootfs and writes good images', async () => {
  const t0 = Date.now();
  const r = await cli(buildArgs('iso,qcow2', OUT));
  assert.is(r.exitCode, 0, r.all.slice(-3000));
  const manifest = JSON.parse(readFileSync(path.join(OUT, `${NAME}.manifest.json`), 'utf8'));
  assert.is(manifest.cacheHits.rootfs, true);
  for (const f of [`${NAME}.iso.sha256`, `${NAME}.qcow2.sha256`, `${NAME}.manifest.json.sha256`]) {
    const c = await execa('sha256sum', ['--check', f], { cwd: OUT, reject: false });
    assert.is(c.exitCode, 0, `${f}: ${c.stdout}${c.stderr}`);
  }
  const check = await execa('qemu-img', ['check', path.join(OUT, `${NAME}.qcow2`)], { reject: false });
  assert.is(check.exitCode, 0, check.stdout + check.stderr);
  const iso = await execa('xorriso', [
    '-indev',
    path.join(OUT, `${NAME}.iso`),
    '-find',
    '/live',
    '-name',
    '*.squashfs',
  ]);
  assert.match(iso.stdout, /filesystem\.squashfs/);
  assert.match(iso.stdout, /config-common\.squashfs/);
  assert.equal(
    readdirSync(OUT).filter((n) => n.startsWith('.')),
    [],
    'partial files left in the output folder',
  );
  assert.equal(
    cacheLeftovers().filter((l) => /entry\.json/.test(l)),
    [],
  );
  assertCleanHost(assert, 'after the next build');
  timings.push(`the next build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test.run();
