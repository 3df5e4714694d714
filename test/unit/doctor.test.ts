import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs } from '../../native-tools/list-packages.ts';
import { BOOTSTRAPPERS, HOST_TOOLS, hostPackages, STAGES, stagesFor } from '../../native-tools/tools.ts';
import {
  checkHost,
  formatDoctorReport,
  type HostProbe,
  installCommand,
  parseOsRelease,
  preflight,
  realProbe,
} from '../../src/doctor.ts';
import { exitCodeFor, HostNotReadyError, type UserError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { processRunner } from '../../src/run/runner.ts';

const ALL_COMMANDS = HOST_TOOLS.flatMap((t) => ('command' in t.check ? [t.check.command] : []));
const ALL_PATHS = HOST_TOOLS.flatMap((t) =>
  'anyPath' in t.check ? t.check.anyPath : 'anyPathSet' in t.check ? t.check.anyPathSet.flat() : [],
);

/** A host that has everything except what is listed. */
function fakeProbe(
  o: {
    missing?: string[];
    root?: boolean;
    kvm?: boolean;
    nbd?: boolean;
    free?: number;
    family?: 'debian' | 'ubuntu';
  } = {},
): HostProbe {
  const missing = new Set(o.missing ?? []);
  return {
    which: (c) => (ALL_COMMANDS.includes(c) && !missing.has(c) ? `/usr/bin/${c}` : undefined),
    exists: (p) => ALL_PATHS.includes(p) && !missing.has(p),
    isRoot: () => o.root ?? true,
    hasKvm: () => o.kvm ?? false,
    hasNbd: () => o.nbd ?? false,
    freeBytes: () => o.free ?? 50 * 2 ** 30,
    family: () => o.family,
  };
}

// --- the tool table ------------------------------------------------------------------------

test('every host tool is described completely', () => {
  const names = new Set<string>();
  for (const t of HOST_TOOLS) {
    assert.not.ok(names.has(t.name), `duplicate ${t.name}`);
    names.add(t.name);
    assert.ok(t.stages.length > 0, t.name);
    for (const s of t.stages) assert.ok(STAGES.includes(s), `${t.name}: stage ${s}`);
    assert.match(t.packages.debian, /^[a-z0-9][a-z0-9+.-]+$/, t.name);
    assert.match(t.packages.ubuntu, /^[a-z0-9][a-z0-9+.-]+$/, t.name);
    assert.not.match(t.neededFor, /^to /, `${t.name}: neededFor completes "required to …"`);
    if (t.bootstrapper) assert.ok(BOOTSTRAPPERS.includes(t.bootstrapper));
    if (t.fallback) assert.ok(t.optional, `${t.name}: only optional tools have a fallback`);
  }
  for (const c of ['mksquashfs', 'xorriso', 'qemu-img', 'qemu-system-x86_64', 'sgdisk', 'setpriv', 'mcopy']) {
    assert.ok(names.has(c), c);
  }
});

test('the facts the brief fixed: optional tools, test-only tools, packages', () => {
  const byName = new Map(HOST_TOOLS.map((t) => [t.name, t]));
  assert.ok(byName.get('qemu-nbd')!.optional);
  assert.ok(byName.get('mkfs.xfs')!.optional);
  assert.is(byName.get('sgdisk')!.packages.debian, 'gdisk');
  assert.is(byName.get('qemu-system-x86_64')!.packages.debian, 'qemu-system-x86');
  assert.is(byName.get('grub i386-pc modules')!.packages.debian, 'grub-pc-bin');
  assert.is(byName.get('grub x86_64-efi modules')!.packages.debian, 'grub-efi-amd64-bin');
  for (const n of ['squid', 'apt-ftparchive', 'dpkg-deb', 'gpg'])
    assert.equal(byName.get(n)!.stages, ['test']);
});

test('stagesFor: build stages per format, boot and test on demand', () => {
  assert.equal(stagesFor({}), ['rootfs', 'configure', 'iso', 'qcow2']);
  assert.equal(stagesFor({ formats: ['qcow2'], boot: true }), ['rootfs', 'configure', 'qcow2', 'boot']);
  assert.equal(stagesFor({ formats: ['iso'], inspect: true }), ['rootfs', 'configure', 'iso', 'inspect']);
  assert.equal(stagesFor({ forTests: true }), [
    'rootfs',
    'configure',
    'iso',
    'qcow2',
    'boot',
    'inspect',
    'test',
  ]);
});

test('hostPackages: sorted, unique, test packages only when asked', () => {
  const base = hostPackages('debian');
  assert.equal(base, [...new Set(base)].sort());
  assert.ok(base.includes('squashfs-tools') && base.includes('ovmf') && base.includes('mmdebstrap'));
  assert.not.ok(base.includes('squid'));
  const withTests = hostPackages('debian', { withTests: true });
  for (const p of ['squid', 'apt-utils', 'gnupg']) assert.ok(withTests.includes(p), p);
});

test('list-packages.ts arguments', () => {
  assert.equal(parseArgs([]), { family: 'debian', withTests: false });
  assert.equal(parseArgs(['--with-tests', '--distro', 'ubuntu']), { family: 'ubuntu', withTests: true });
  assert.throws(() => parseArgs(['--distro', 'fedora']), /debian or ubuntu/);
  assert.throws(() => parseArgs(['--npm']), /unknown argument/);
});

// --- install.sh ------------------------------------------------------------------------------

const INSTALL_SH = new URL('../../native-tools/install.sh', import.meta.url).pathname;

function staticList(name: string): string[] {
  const text = readFileSync(INSTALL_SH, 'utf8');
  const m = text.match(new RegExp(`^${name}=\\(([^)]*)\\)`, 'm'));
  assert.ok(m, `install.sh has no ${name}=( … )`);
  return m![1]!.split(/\s+/).filter(Boolean);
}

test('install.sh static package lists match native-tools/tools.ts', () => {
  for (const family of ['debian', 'ubuntu'] as const) {
    const upper = family.toUpperCase();
    const base = staticList(`STATIC_${upper}`);
    assert.equal(base, hostPackages(family), `STATIC_${upper}`);
    const tests = staticList(`STATIC_TEST_${upper}`);
    assert.equal(
      [...base, ...tests].sort(),
      hostPackages(family, { withTests: true }),
      `STATIC_TEST_${upper}`,
    );
  }
});

test('install.sh parses, and prints the same list with node and without, on either family; refuses other hosts', async () => {
  const runner = processRunner({ logger: silentLogger });
  await runner.run(['bash', '-n', INSTALL_SH]);
  // the family comes from an os-release file of our own: the same checks on any host
  const dir = mkdtempSync(path.join(tmpdir(), 'ibn-os-release-'));
  try {
    const osRelease = (name: string, text: string) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return { ...process.env, IB_NATIVE_OS_RELEASE: f };
    };
    const hosts = [
      ['debian', osRelease('debian', 'ID=debian\nVERSION_ID="12"\n')],
      ['ubuntu', osRelease('ubuntu', 'ID=ubuntu\nID_LIKE=debian\n')],
      ['ubuntu', osRelease('mint', 'ID=linuxmint\nID_LIKE="ubuntu debian"\n')],
      ['debian', osRelease('raspbian', 'ID=raspbian\nID_LIKE=debian\n')],
    ] as const;
    let checked = 0;
    for (const [family, env] of hosts)
      for (const extra of [[], ['--with-tests']]) {
        const print = async (flags: string[]) =>
          (await runner.run(['bash', INSTALL_SH, '--print', ...flags, ...extra], { env })).stdout
            .trim()
            .split('\n');
        const expected = hostPackages(family, { withTests: extra.length > 0 });
        assert.equal(await print([]), expected, `${env.IB_NATIVE_OS_RELEASE} ${extra}`);
        assert.equal(await print(['--static']), expected, `${env.IB_NATIVE_OS_RELEASE} --static ${extra}`);
        checked++;
      }
    assert.is(checked, 8);
    const other = await runner.run(['bash', INSTALL_SH, '--print'], {
      env: osRelease('fedora', 'ID=fedora\nID_LIKE="rhel centos"\n'),
      okExitCodes: [1],
    });
    assert.is(other.exitCode, 1);
    assert.match(other.stderr, /this host is neither Debian nor Ubuntu \(.*fedora says: fedora rhel centos/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = await runner.run(['bash', INSTALL_SH, '--bogus'], { okExitCodes: [1] });
  assert.is(bad.exitCode, 1);
  assert.match(bad.stderr, /unknown option --bogus/);
});

// --- checkHost -------------------------------------------------------------------------------

test('KVM: QEMU is asked only when booting is in question; a /dev/kvm it cannot run on is no KVM', () => {
  let asked = 0;
  const probe = (runs: boolean): HostProbe => ({
    ...fakeProbe({ kvm: true }),
    kvmRuns: () => {
      asked++;
      return runs;
    },
  });
  assert.ok(checkHost({}, probe(false)).kvm, 'a build preflight does not start QEMU');
  assert.is(asked, 0);
  assert.not.ok(checkHost({ boot: true }, probe(false)).kvm);
  assert.ok(checkHost({ boot: true }, probe(true)).kvm);
  assert.is(asked, 2);
  assert.not.ok(checkHost({ boot: true }, { ...fakeProbe({ kvm: false }), kvmRuns: () => true }).kvm);
});

test('a complete host: nothing missing, every row found', () => {
  const r = checkHost({ forTests: true, dir: '/var/tmp' }, fakeProbe({ kvm: true }));
  assert.equal(r.missingRequired, []);
  assert.equal(r.missingOptional, []);
  assert.ok(r.rows.every((row) => row.ok && row.found));
  assert.equal(r.stages, ['rootfs', 'configure', 'iso', 'qcow2', 'boot', 'inspect', 'test']);
  assert.ok(r.kvm && r.root && !r.nbd);
  assert.equal(r.freeSpace, { dir: '/var/tmp', bytes: 50 * 2 ** 30 });
  assert.is(r.family, 'debian');
  assert.not.ok(r.familyDetected);
});

test('rows follow the stages: a qcow2-only build does not need mksquashfs; tests add squid', () => {
  const names = (opts: Parameters<typeof checkHost>[0]) =>
    checkHost(opts, fakeProbe()).rows.map((r) => r.tool);
  const qcowOnly = names({ formats: ['qcow2'] });
  assert.not.ok(qcowOnly.includes('mksquashfs'));
  assert.ok(qcowOnly.includes('sgdisk'));
  assert.not.ok(qcowOnly.includes('qemu-system-x86_64'));
  assert.not.ok(qcowOnly.includes('squid'));
  assert.ok(names({ boot: true }).includes('qemu-system-x86_64'));
  assert.ok(names({ forTests: true }).includes('squid'));
  assert.equal(names({ stages: ['boot'] }).sort(), [
    'OVMF Secure Boot firmware',
    'OVMF firmware',
    'qemu-img',
    'qemu-system-x86_64',
    'setpriv',
    'xorriso',
  ]);
});

test('a missing required tool is reported with what it is for and its package', () => {
  const r = checkHost({}, fakeProbe({ missing: ['mksquashfs'] }));
  assert.equal(
    r.missingRequired.map((x) => x.tool),
    ['mksquashfs'],
  );
  const row = r.missingRequired[0]!;
  assert.is(row.ok, false);
  assert.is(row.found, undefined);
  assert.equal(row.package, { debian: 'squashfs-tools', ubuntu: 'squashfs-tools' });
  assert.equal(row.stages, ['iso']);
});

test('optional tools: missing qemu-nbd and mkfs.xfs are not fatal', () => {
  const probe = fakeProbe({ missing: ['qemu-nbd', 'mkfs.xfs'] });
  const r = checkHost({}, probe);
  assert.equal(r.missingRequired, []);
  assert.equal(r.missingOptional.map((x) => x.tool).sort(), ['mkfs.xfs', 'qemu-nbd']);
  assert.match(r.missingOptional.find((x) => x.tool === 'qemu-nbd')!.fallback ?? '', /loop device/);
  preflight({}, probe); // does not throw
});

test('the chosen bootstrapper is required, the other one is an optional alternative', () => {
  const probe = fakeProbe({ missing: ['debootstrap', 'mmdebstrap'] });
  const deb = checkHost({}, probe);
  assert.equal(
    deb.missingRequired.map((x) => x.tool),
    ['debootstrap'],
  );
  assert.equal(
    deb.missingOptional.map((x) => [x.tool, x.fallback]),
    [['mmdebstrap', 'debootstrap']],
  );
  const mm = checkHost({ bootstrapper: 'mmdebstrap' }, probe);
  assert.equal(
    mm.missingRequired.map((x) => x.tool),
    ['mmdebstrap'],
  );
  assert.equal(
    mm.missingOptional.map((x) => x.tool),
    ['debootstrap'],
  );
});

test('without --bootstrapper the default is checked: mmdebstrap when installed, so debootstrap may be absent', () => {
  const onlyMm = checkHost({}, fakeProbe({ missing: ['debootstrap'] }));
  assert.equal(onlyMm.missingRequired, []);
  assert.equal(
    onlyMm.missingOptional.map((x) => x.tool),
    ['debootstrap'],
  );
  const onlyDeb = checkHost({}, fakeProbe({ missing: ['mmdebstrap'] }));
  assert.equal(onlyDeb.missingRequired, []);
});

test('a folder of grub modules and the OVMF firmware are checked as paths', () => {
  const r = checkHost(
    { boot: true },
    fakeProbe({ missing: ['/usr/lib/grub/x86_64-efi', '/usr/share/ovmf/OVMF.fd'] }),
  );
  assert.equal(
    r.missingRequired.map((x) => x.tool),
    ['grub x86_64-efi modules'],
  );
  const ovmf = r.rows.find((x) => x.tool === 'OVMF firmware')!;
  assert.ok(ovmf.ok, 'another OVMF layout is present');
  assert.is(ovmf.found, '/usr/share/OVMF/OVMF_CODE_4M.fd');
});

test('Secure Boot firmware: the code and its Microsoft-keys variables, both, else an optional row naming ovmf', () => {
  const sb = (missing: string[]) =>
    checkHost({ boot: true }, fakeProbe({ missing })).rows.find(
      (x) => x.tool === 'OVMF Secure Boot firmware',
    )!;
  const all = sb([]);
  assert.ok(all.ok && all.optional);
  assert.is(all.found, '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd + /usr/share/OVMF/OVMF_VARS_4M.ms.fd');
  // the 4M variables gone: the 2 MB pair of older releases
  assert.is(
    sb(['/usr/share/OVMF/OVMF_VARS_4M.ms.fd']).found,
    '/usr/share/OVMF/OVMF_CODE.secboot.fd + /usr/share/OVMF/OVMF_VARS.ms.fd',
  );
  // code without its variables is not a pair
  const none = sb(['/usr/share/OVMF/OVMF_VARS_4M.ms.fd', '/usr/share/OVMF/OVMF_VARS.ms.fd']);
  assert.not.ok(none.ok);
  assert.is(none.package.debian, 'ovmf');
  assert.is(none.package.ubuntu, 'ovmf');
  const r = checkHost(
    { boot: true },
    fakeProbe({
      missing: ['/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', '/usr/share/OVMF/OVMF_CODE.secboot.fd'],
    }),
  );
  assert.equal(r.missingRequired, [], 'plain boots still work');
  const text = formatDoctorReport(r);
  assert.match(
    text,
    /\n {2}absent {3}OVMF Secure Boot firmware \(optional\) +boot the images with UEFI Secure Boot/,
  );
  assert.match(text, /Could not find OVMF Secure Boot firmware.*apt-get install ovmf/);
});

test('installCommand: one apt-get for every package, deduplicated, for the host family', () => {
  const r = checkHost({}, fakeProbe({ missing: ['mcopy', 'mmd', 'mksquashfs', 'sgdisk'] }));
  assert.is(installCommand(r.missingRequired, 'debian'), 'apt-get install -y gdisk mtools squashfs-tools');
  const odd = [{ ...r.missingRequired[0]!, package: { debian: 'foo', ubuntu: 'foo-ubuntu' } }];
  assert.is(installCommand(odd, 'ubuntu'), 'apt-get install -y foo-ubuntu');
  assert.is(installCommand([], 'debian'), undefined);
});

// --- preflight -------------------------------------------------------------------------------

function preflightError(...args: Parameters<typeof preflight>): UserError {
  try {
    preflight(...args);
  } catch (e) {
    assert.instance(e, HostNotReadyError);
    assert.is(exitCodeFor(e), 5);
    return e as UserError;
  }
  assert.unreachable('preflight should have thrown');
  throw new Error('unreachable');
}

test('preflight lists every missing required tool and the one command that fixes them', () => {
  const e = preflightError(
    {},
    fakeProbe({ missing: ['mksquashfs', 'sgdisk', 'qemu-nbd'], family: 'debian' }),
  );
  assert.match(e.message, /2 problems/);
  assert.match(
    e.message,
    /Could not find mksquashfs, which is required to create the squashfs of the live ISO; install it with: apt-get install squashfs-tools/,
  );
  assert.match(e.message, /Could not find sgdisk, which is required to partition the disk image \(GPT\)/);
  assert.not.match(e.message, /qemu-nbd/);
  assert.is(e.hint, 'install the missing tools with: apt-get install -y gdisk squashfs-tools');
});

test('preflight checks root only when asked (free space: src/space.ts)', () => {
  const probe = fakeProbe({ root: false, free: 2 * 2 ** 30 });
  preflight({ dir: '/var/tmp' }, probe);
  const e = preflightError({ dir: '/var/tmp', requireRoot: true }, probe);
  assert.match(e.message, /must run as root/);
  assert.match(e.hint ?? '', /sudo/);
});

test('preflight returns the report when the host is ready', () => {
  const r = preflight({ requireRoot: true }, fakeProbe());
  assert.equal(r.missingRequired, []);
});

// --- the report ------------------------------------------------------------------------------

test('formatDoctorReport: a table, host facts, a sentence per missing tool, the fix', () => {
  const r = checkHost(
    { dir: '/var/tmp/ib', boot: true },
    fakeProbe({
      missing: ['xorriso', 'qemu-nbd'],
      root: false,
      kvm: false,
      nbd: false,
      free: 3 * 2 ** 30,
      family: 'ubuntu',
    }),
  );
  const text = formatDoctorReport(r);
  assert.match(text, /ubuntu host/);
  assert.match(text, /\n {2}ok {7}mksquashfs +\/usr\/bin\/mksquashfs\n/);
  assert.match(text, /\n {2}MISSING {2}xorriso +write the hybrid BIOS\/UEFI ISO/);
  assert.match(text, /\n {2}absent {3}qemu-nbd \(optional\)/);
  assert.match(text, /running as root {2}no/);
  assert.match(text, /KVM {14}no: QEMU falls back to TCG/);
  assert.match(text, /nbd {14}no/);
  assert.match(text, /free space {7}3\.0 GiB in \/var\/tmp\/ib/);
  assert.match(
    text,
    /Could not find xorriso, which is required to .*; install it with: apt-get install xorriso\n/,
  );
  assert.match(
    text,
    /Could not find qemu-nbd, which is used to .* \(optional; without it: a raw image on a loop device\)/,
  );
  assert.match(text, /To install every missing required tool: apt-get install -y xorriso\n/);
  assert.match(text, /To install everything missing: apt-get install -y qemu-utils xorriso\n/);
});

test('formatDoctorReport on a complete host says so', () => {
  const text = formatDoctorReport(checkHost({}, fakeProbe({ root: true, kvm: true, nbd: true })));
  assert.match(text, /Every tool is present\./);
  assert.not.match(text, /MISSING|Could not find/);
  assert.match(text, /KVM {14}yes/);
});

// --- the real probe --------------------------------------------------------------------------

test('parseOsRelease: Debian, Ubuntu, derivatives, others', () => {
  assert.is(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'), 'debian');
  assert.is(parseOsRelease('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n'), 'ubuntu');
  assert.is(parseOsRelease('ID=linuxmint\nID_LIKE="ubuntu debian"\n'), 'ubuntu');
  assert.is(parseOsRelease('ID=raspbian\nID_LIKE=debian\n'), 'debian');
  assert.is(parseOsRelease('ID="fedora"\n'), undefined);
});

test('realProbe finds commands on PATH and reports free space', () => {
  assert.match(realProbe.which('sh') ?? '', /\/sh$/);
  assert.is(realProbe.which('ib-native-no-such-command'), undefined);
  assert.ok(realProbe.exists('/'));
  assert.ok((realProbe.freeBytes('/tmp/ib-native-does-not-exist/deeper') ?? 0) > 0, 'walks up to /tmp');
  assert.type(realProbe.isRoot(), 'boolean');
  assert.type(realProbe.hasKvm(), 'boolean');
  assert.type(realProbe.hasNbd(), 'boolean');
});

test.run();
