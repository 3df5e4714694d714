/**
 * Bad input that needs root: `build` with bad flags, files, profiles and host state. Each must exit
 * 2 (5 when the host is not ready: a tool, module or keyring missing) before any work, name its
 * cause, print a `hint:` line, and change nothing: the output folder and the cache folder are
 * listed (recursively) before and after, no mount or loop device is left under them, and no log
 * file is written. Uses its own cache folder (other integration runs
 * may share the default one) holding no rootfs, so a build that got past its checks would start
 * debootstrap and show up as a changed cache. The cases that need no root are in
 * test/unit/bad-inputs.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nbdAvailable } from '../../src/sys/blockdev.ts';
import { assertRejected, type BadInput, childProfile, hostState, rawFile } from '../helpers/bad-input.ts';
import { BIN, DISTRO, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('bad-inputs');
const CACHE = path.join(DIR, 'cache');
const OUT = path.join(DIR, 'out');

/** A PATH of symlinks to every command of the usual folders except `missing`. */
function pathWithout(missing: string): string {
  const bin = path.join(DIR, `path-without-${missing}`);
  rmSync(bin, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d)) {
      const link = path.join(bin, n);
      if (n !== missing && !existsSync(link)) symlinkSync(path.join(d, n), link);
    }
  }
  return bin;
}

interface BuildCase extends BadInput {
  env?: () => Record<string, string>;
  /** Run the CLI as this user instead of root. */
  user?: string;
}

const build = (...args: string[]) => [
  'build',
  '--profile',
  'minimal',
  '--distro',
  DISTRO,
  '--output',
  OUT,
  ...args,
];

const CASES: BuildCase[] = [
  {
    name: '--output pointing to a file',
    args: (d) => [
      'build',
      '--profile',
      'minimal',
      '--distro',
      DISTRO,
      '--output',
      rawFile(d, 'out-is-a-file', 'x\n'),
    ],
    names: /--output .*out-is-a-file is a file, not a folder/,
  },
  {
    name: '--output below a file',
    args: (d) => [
      'build',
      '--profile',
      'minimal',
      '--distro',
      DISTRO,
      '--output',
      path.join(rawFile(d, 'a-file', 'x\n'), 'out'),
    ],
    names: /--output .*a-file\/out cannot be created: .*a-file is a file/,
  },
  {
    name: '--cache-dir pointing to a file',
    args: (d) => ['--cache-dir', rawFile(d, 'cache-is-a-file', 'x\n'), ...build()],
    names: /--cache-dir .*cache-is-a-file is a file, not a folder/,
  },
  {
    name: '--user-data naming a missing file',
    args: (d) => build('--user-data', path.join(d, 'no-such-user-data')),
    names: /--user-data file not found: .*no-such-user-data/,
  },
  {
    name: '--meta-data not JSON',
    args: (d) => build('--meta-data', rawFile(d, 'meta.json', '{ "uuid": ')),
    names: /--meta-data .*meta\.json is not valid JSON/,
  },
  {
    name: '--network-data not JSON',
    args: (d) => build('--network-data', rawFile(d, 'network.json', 'links: []\n')),
    names: /--network-data .*network\.json is not valid JSON/,
  },
  {
    name: '--block-device nbd without the nbd module',
    args: () => build('--block-device', 'nbd', '--format', 'qcow2'),
    names: /--block-device nbd asked for, but the nbd kernel module is not available/,
    code: 5,
    skip: () => (nbdAvailable() ? 'the nbd module is loaded here' : undefined),
  },
  {
    name: '--format bogus',
    args: () => build('--format', 'qcow3'),
    names: /--format: unknown format "qcow3"/,
  },
  {
    name: '--mirror not a URL',
    args: () => build('--mirror', 'deb.debian.org/debian'),
    names: /--mirror "deb\.debian\.org\/debian" is not a http, https, file URL/,
  },
  {
    name: '--proxy not a URL',
    args: () => build('--proxy', 'proxy:3128'),
    names: /--proxy "proxy:3128" is not a http, https URL/,
  },
  {
    name: '--max-age negative',
    args: () => build('--max-age', '-1'),
    names: /--max-age must be a number of days/,
  },
  {
    name: '--sign-key that the keyring does not hold',
    args: () => build('--sign-key', 'no-such-key@ib-native.invalid'),
    env: () => {
      const home = mkdtempSync(path.join(DIR, 'gnupg-'));
      return { GNUPGHOME: home };
    },
    names: /--sign-key no-such-key@ib-native\.invalid: gpg has no secret key for it in GNUPGHOME=/,
  },
  {
    name: 'a profile error found by build as by plan',
    args: (d) => [
      'build',
      '--profile',
      childProfile(d, 'typo', `pakages: ['jq']`),
      '--distro',
      DISTRO,
      '--output',
      OUT,
    ],
    names: /typo\.ts: 1 problem\n\s+- \(root\): unknown key "pakages"/,
  },
  {
    name: 'a bad profile anywhere in a bundle',
    args: (d) => [...build(), '--profile', childProfile(d, 'bundled', `disk: { size: '1G' }`)],
    names: /bundled\.ts: .*\n\s+- disk\.partitions\[0\]\.start: 1284MiB is beyond the end of the 1G disk/,
  },
  {
    // whether or not this host has the keyring: the host keyring folder is pointed elsewhere
    name: 'the distro keyring missing on the host and the archive unreachable (ubuntu-focal)',
    args: () => [
      'build',
      '--profile',
      'minimal',
      '--distro',
      'ubuntu-focal',
      '--mirror',
      'http://127.0.0.1:9/ubuntu',
      '--output',
      OUT,
    ],
    env: () => ({ IB_NATIVE_HOST_KEYRING_DIR: path.join(DIR, 'no-host-keyrings') }),
    names:
      /the ubuntu-focal archive keyring is missing \(\/usr\/share\/keyrings\/ubuntu-archive-keyring\.gpg\) and could not be obtained: http:\/\/127\.0\.0\.1:9\/ubuntu\/dists\/focal\/InRelease/,
    code: 5,
  },
  {
    name: 'not root',
    args: () => build(),
    user: 'nobody',
    names: /build needs root/,
  },
  {
    name: 'a host tool missing (mksquashfs)',
    args: () => build('--format', 'iso'),
    env: () => ({ PATH: pathWithout('mksquashfs') }),
    names:
      /the host is not ready:\n\s+- Could not find mksquashfs, which is required to .*apt-get install squashfs-tools/,
    code: 5,
  },
];

async function runCli(c: BuildCase, args: string[]) {
  const argv = args[0] === '--cache-dir' ? args : ['--cache-dir', CACHE, ...args];
  const cmd = c.user
    ? ['runuser', '-u', c.user, '--', process.execPath, BIN, ...argv]
    : [process.execPath, BIN, ...argv];
  const r = await execa(cmd[0]!, cmd.slice(1), {
    reject: false,
    all: true,
    cwd: DIR,
    env: c.env?.(),
    stdin: 'ignore',
    timeout: 120_000,
  });
  if (process.env.TEST_VERBOSE) process.stderr.write(String(r.all));
  return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr), stdout: String(r.stdout) };
}

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(path.join(CACHE, 'logs'), { recursive: true });
  mkdirSync(path.join(CACHE, 'rootfs'), { recursive: true });
  mkdirSync(OUT, { recursive: true });
  // a previous good image that a rejected build must neither replace nor remove
  writeFileSync(path.join(OUT, 'minimal.qcow2'), 'previous good image\n');
  writeFileSync(path.join(OUT, 'minimal.iso'), 'previous good image\n');
});

test.after(() => {
  rmSync(DIR, { recursive: true, force: true });
});

/** The listing of the folders a rejected build may not change; never empty (nothing to compare otherwise). */
function stateBefore(name: string): string {
  const state = hostState([OUT, CACHE]);
  for (const must of ['minimal.qcow2 ', 'minimal.iso ', 'rootfs dir', 'logs dir'])
    assert.ok(
      state.includes(must),
      `${name}: the sandbox lost ${must.trim()}; nothing to compare:\n${state}`,
    );
  return state;
}

// a case that cannot run here is registered as skipped (uvu counts it so, and the runner prints
// its SKIPPED line): never as a test that passes without running
const ran = new Set<string>();
const skipped = new Set<string>();
for (const c of CASES) {
  const why = c.skip?.();
  if (why) {
    skipped.add(c.name);
    process.stdout.write(`SKIPPED build rejected: ${c.name}: ${why}\n`);
    test.skip(`build rejected: ${c.name} (skipped: ${why})`, () => undefined);
    continue;
  }
  test(`build rejected: ${c.name}`, async () => {
    const args = c.args(DIR);
    const before = stateBefore(c.name);
    const r = await runCli(c, args);
    assertRejected(assert, c, r);
    assert.not.match(r.stderr, /full log: /, `${c.name}: a log file was written`);
    assert.is(r.stdout, '', `${c.name}: printed output paths`);
    assert.is(hostState([OUT, CACHE]), before, `${c.name}: the output or cache folder changed`);
    ran.add(c.name);
  });
}

test('the table has the root-only cases the issue lists, and every case ran or was reported skipped', () => {
  assert.ok(CASES.length >= 15, `${CASES.length} cases`);
  assert.is(new Set(CASES.map((c) => c.name)).size, CASES.length, 'case names are unique');
  // runs last: uvu runs tests in order and this one is registered after the table
  assert.equal(
    CASES.map((c) => c.name).filter((n) => !ran.has(n) && !skipped.has(n)),
    [],
    'cases that neither ran to the end nor were skipped',
  );
});

test.run();
