/**
 * Bad input that needs no root: CLI arguments rejected by the parser or by `plan`/`boot`, and every
 * profile-field case of test/helpers/bad-input.ts through `plan`. Each must exit 2, name its cause,
 * print a `hint:` line, and leave the sandbox (profiles, output, cache folder) exactly as it was.
 * Runs the CLI's `main` in this process; `build` cases that get past the parser need root and are
 * in test/integration/50-bad-inputs.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.ts';
import {
  assertRejected,
  type BadInput,
  hostState,
  PROFILE_CASES,
  type Rejection,
} from '../helpers/bad-input.ts';

const SANDBOX = mkdtempSync(path.join(tmpdir(), 'ibn-bad-inputs-'));
const CACHE = path.join(SANDBOX, 'cache');
const OUT = path.join(SANDBOX, 'out');

const CLI_CASES: BadInput[] = [
  {
    name: 'unknown flag (plan)',
    args: () => ['plan', '--profile', 'minimal', '--frobnicate'],
    names: /Unknown argument: frobnicate/,
  },
  {
    name: 'unknown flag (build)',
    args: () => ['build', '--profile', 'minimal', '--output', OUT, '--frobnicate'],
    names: /Unknown argument: frobnicate/,
  },
  {
    name: 'unknown command',
    args: () => ['frobnicate'],
    names: /Unknown argument: frobnicate/,
  },
  {
    name: '--format bogus',
    args: () => ['plan', '--profile', 'minimal', '--format', 'iso,bogus'],
    names: /--format: unknown format "bogus"/,
  },
  {
    name: '--distro bogus (plan)',
    args: () => ['plan', '--profile', 'minimal', '--distro', 'bogus'],
    names: /distro, Given: "bogus"/,
  },
  {
    name: '--distro bogus (build)',
    args: () => ['build', '--profile', 'minimal', '--distro', 'bogus', '--output', OUT],
    names: /distro, Given: "bogus"/,
  },
  {
    name: 'several profiles without --matrix (plan)',
    args: () => ['plan', '--profile', 'minimal', '--profile', 'base'],
    names: /plan takes one --profile and one --distro \(given 2 and 0\)/,
  },
  {
    name: 'the same profile twice in a matrix',
    args: () => ['plan', '--matrix', '--profile', 'minimal', '--profile', 'minimal'],
    names: /two units are named minimal-ubuntu-focal-iso/,
  },
  {
    name: 'missing --profile (plan)',
    args: () => ['plan'],
    names: /Missing required argument: profile/,
  },
  {
    name: 'missing --profile (build)',
    args: () => ['build', '--output', OUT],
    names: /Missing required argument: profile/,
  },
  {
    name: '--block-device bogus',
    args: () => ['build', '--profile', 'minimal', '--block-device', 'floppy', '--output', OUT],
    names: /block-device, Given: "floppy"/,
  },
  {
    name: 'unknown profile name',
    args: () => ['plan', '--profile', 'no-such-profile'],
    names: /no profile named "no-such-profile"/,
  },
  {
    name: 'boot of a missing image',
    args: () => ['boot', path.join(SANDBOX, 'no-such.qcow2')],
    names: /image not found: .*no-such\.qcow2/,
  },
  {
    name: 'boot with --firmware bogus',
    args: () => ['boot', path.join(SANDBOX, 'image.qcow2'), '--firmware', 'coreboot'],
    names: /firmware, Given: "coreboot"/,
  },
  {
    name: 'boot --secure-boot with --firmware bios',
    args: () => ['boot', path.join(SANDBOX, 'image.qcow2'), '--secure-boot', '--firmware', 'bios'],
    names: /--secure-boot cannot go with --firmware bios/,
  },
  {
    name: 'boot without an image',
    args: () => ['boot'],
    names: /Not enough non-option arguments/,
  },
  {
    name: 'inspect of a missing image',
    args: () => ['inspect', path.join(SANDBOX, 'no-such.iso')],
    names: /no-such\.iso: no such file/,
  },
  {
    name: 'inspect of a file that is no image',
    args: () => ['inspect', path.join(SANDBOX, 'image.qcow2'), '--cat', '/etc/hostname'],
    names: /image\.qcow2 is neither an ISO nor a disk image/,
  },
  {
    name: 'inspect without an image',
    args: () => ['inspect'],
    names: /Not enough non-option arguments/,
  },
  {
    name: 'profiles show of an unknown profile',
    args: () => ['profiles', 'show', 'no-such-profile'],
    names: /no profile named "no-such-profile"/,
  },
  {
    name: 'profiles list --dir of a missing folder',
    args: () => ['profiles', 'list', '--dir', path.join(SANDBOX, 'no-such-folder')],
    names: /--dir .*no-such-folder: no such folder/,
  },
  {
    name: 'profiles with an unknown action',
    args: () => ['profiles', 'frobnicate'],
    names: /Unknown argument: frobnicate/,
  },
  {
    name: 'diff with an unknown profile',
    args: () => ['diff', 'minimal', 'no-such-profile'],
    names: /no profile named "no-such-profile"/,
  },
  {
    name: 'diff with one profile',
    args: () => ['diff', 'minimal'],
    names: /Not enough non-option arguments/,
  },
  {
    name: 'cache with an unknown action',
    args: () => ['cache', 'frobnicate'],
    names: /action, Given: "frobnicate"/,
  },
];

/** Run the CLI's main in this process, capturing what it prints. */
async function run(args: string[]): Promise<Rejection & { stdout: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((c: string | Uint8Array) => out.push(String(c)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => err.push(String(c)) > 0) as typeof process.stderr.write;
  let exitCode: number;
  try {
    exitCode = await main(['--cache-dir', CACHE, ...args]);
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  return { exitCode, stdout: out.join(''), stderr: err.join('') };
}

test.before(() => {
  mkdirSync(path.join(CACHE, 'rootfs'), { recursive: true });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'minimal.qcow2'), 'previous good image\n');
  writeFileSync(path.join(SANDBOX, 'image.qcow2'), 'not really an image\n');
});

test.after(() => {
  rmSync(SANDBOX, { recursive: true, force: true });
});

test('the table covers at least 30 distinct bad inputs without root', () => {
  const names = [...CLI_CASES, ...PROFILE_CASES].map((c) => c.name);
  assert.ok(names.length >= 30, `${names.length} cases`);
  assert.is(new Set(names).size, names.length, 'duplicate case names');
});

for (const c of [...CLI_CASES, ...PROFILE_CASES]) {
  test(`rejected: ${c.name}`, async () => {
    const args = c.args(SANDBOX);
    const before = hostState([SANDBOX]);
    const r = await run(args);
    assertRejected(assert, c, r);
    assert.is(hostState([SANDBOX]), before, `${c.name}: the sandbox (profiles, output, cache) changed`);
  });
}

test('a profile with several problems lists each with its field path', async () => {
  const file = path.join(SANDBOX, 'several.yaml');
  writeFileSync(
    file,
    'name: several\npackages: [Bad_Package]\nfiles:\n  - { path: etc/x, content: x, mode: "999" }\nlimits:\n  - { name: n, domain: "*", type: medium, item: nofile, value: 1 }\n',
  );
  const r = await run(['plan', '--profile', file]);
  assert.is(r.exitCode, 2);
  assert.match(r.stderr, /several\.yaml: 4 problems/);
  for (const p of ['packages[0]', 'files[0].path', 'files[0].mode', 'limits[0].type'])
    assert.ok(r.stderr.includes(`  - ${p}: `), `${p} not listed:\n${r.stderr}`);
});

test.run();
