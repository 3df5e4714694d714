import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm, debianTrixie } from '../../../src/distro/debian.ts';
import {
  aptSourceProblems,
  DISTRO_NAMES,
  DISTROS,
  distroSources,
  getDistro,
  renderDeb822,
  repoSource,
} from '../../../src/distro/index.ts';
import type { AptSource, Distro } from '../../../src/distro/types.ts';
import { ubuntuFocal, ubuntuJammy, ubuntuNoble } from '../../../src/distro/ubuntu.ts';
import { UserError } from '../../../src/errors.ts';
import { profileSchema, DISTROS as SCHEMA_DISTROS } from '../../../src/profile/schema.ts';
import { keyInImage } from '../../../src/stages/rootfs.ts';

test('registry: the schema enum is the registry, every name maps to the descriptor of that name', () => {
  assert.equal(DISTRO_NAMES, [
    'ubuntu-focal',
    'ubuntu-jammy',
    'ubuntu-noble',
    'debian-bookworm',
    'debian-trixie',
  ]);
  assert.is(SCHEMA_DISTROS, DISTRO_NAMES);
  assert.equal(Object.keys(DISTROS), [...DISTRO_NAMES]);
  for (const n of DISTRO_NAMES) assert.is(getDistro(n).name, n);
  for (const n of DISTRO_NAMES) assert.ok(profileSchema.safeParse({ name: 'x', distro: n }).success, n);
  assert.not.ok(profileSchema.safeParse({ name: 'x', distro: 'ubuntu-bionic' }).success);
  assert.is(getDistro('debian-bookworm'), debianBookworm);
  assert.is(getDistro('ubuntu-focal'), ubuntuFocal);
  assert.is(getDistro('ubuntu-noble'), ubuntuNoble);
});

test('getDistro: unknown name is a UserError whose hint lists the choices', () => {
  for (const name of ['fedora-40', '', 'toString', 'constructor', '__proto__']) {
    assert.throws(
      () => getDistro(name),
      (e: Error) =>
        e instanceof UserError &&
        e.message === `unknown distro "${name}"` &&
        e.hint === 'choose one of: debian-bookworm, debian-trixie, ubuntu-focal, ubuntu-jammy, ubuntu-noble',
      name,
    );
  }
});

/** What a descriptor must say, release by release (suites, kernel, apt's key format, bootstrap). */
const EXPECTED = {
  'ubuntu-focal': {
    suites: ['focal', 'focal-updates', 'focal-security'],
    armored: false,
    script: undefined,
  },
  'ubuntu-jammy': {
    suites: ['jammy', 'jammy-updates', 'jammy-security'],
    armored: true,
    script: undefined,
  },
  'ubuntu-noble': {
    suites: ['noble', 'noble-updates', 'noble-security'],
    armored: true,
    script: 'gutsy',
  },
  'debian-bookworm': {
    suites: ['bookworm', 'bookworm-updates', 'bookworm-security'],
    armored: true,
    script: undefined,
  },
  'debian-trixie': {
    suites: ['trixie', 'trixie-updates', 'trixie-security'],
    armored: true,
    script: undefined,
  },
} as const;

for (const d of Object.values(DISTROS)) {
  const want = EXPECTED[d.name as keyof typeof EXPECTED];
  const ubuntu = d.family === 'ubuntu';
  test(`${d.name}: sources, kernel, keyring and key handling`, () => {
    assert.ok(want, `${d.name} has no expectation in this test: add one with its descriptor`);
    assert.is(d.family, d.name.split('-')[0]);
    assert.is(d.suite, d.name.split('-')[1]);
    const sources = distroSources(d, '/k.gpg');
    assert.equal(
      sources.map((s) => [s.name, s.uris, s.suites]),
      [
        [
          d.name,
          ubuntu ? 'http://archive.ubuntu.com/ubuntu' : 'http://deb.debian.org/debian',
          want.suites.slice(0, 2),
        ],
        [
          `${d.name}-security`,
          ubuntu ? 'http://security.ubuntu.com/ubuntu' : 'http://deb.debian.org/debian-security',
          want.suites.slice(2),
        ],
      ],
    );
    for (const s of sources) {
      assert.equal(s.components, ubuntu ? ['main', 'restricted', 'universe'] : ['main']);
      assert.is(s.signedBy, '/k.gpg');
    }
    assert.equal(d.kernelPackages, ubuntu ? ['linux-image-generic'] : ['linux-image-amd64']);
    assert.equal(d.headersPackages, ubuntu ? ['linux-headers-generic'] : ['linux-headers-amd64']);
    assert.equal(d.bootPackages, ['live-boot', 'systemd-sysv', 'initramfs-tools', 'zstd']);
    assert.is(
      d.keyring,
      ubuntu
        ? '/usr/share/keyrings/ubuntu-archive-keyring.gpg'
        : '/usr/share/keyrings/debian-archive-keyring.gpg',
    );
    assert.match(d.keyringHint, ubuntu ? /ubuntu-keyring/ : /debian-archive-keyring/);
    assert.is(d.aptReadsArmoredKeys, want.armored);
    assert.is(d.debootstrapScript, want.script);
    assert.is(d.mirrors, undefined, 'a descriptor never maps suites itself');
    // an armored repo key stays armored only where apt reads it (apt >= 2.4); binary everywhere else
    const repo = { name: 'r', url: 'http://r', suite: 's', components: ['main'], packages: [] };
    assert.is(
      keyInImage({ ...repo, key: '/k/r.asc' }, d),
      `/etc/apt/keyrings/ib-native-r.${want.armored ? 'asc' : 'gpg'}`,
    );
    assert.is(keyInImage({ ...repo, key: '/k/r.gpg' }, d), '/etc/apt/keyrings/ib-native-r.gpg');
  });
}

test('every Ubuntu release pins the archive keyring fingerprints; Debian releases use the host keyring', () => {
  for (const name of DISTRO_NAMES) {
    const d = getDistro(name);
    if (d.family === 'ubuntu')
      assert.equal(d.archiveKeyring?.fingerprints, [
        '790BC7277767219C42C86F933B4FE6ACC0B21F32',
        'F6ECB3762474EDA9D21B7022871920D1991BC93C',
      ]);
    else assert.is(d.archiveKeyring, undefined, name);
  }
});

test('descriptors are their predecessor plus what differs', () => {
  const differs = (a: object, b: object) =>
    Object.keys({ ...a, ...b })
      .filter((k) => JSON.stringify((a as never)[k]) !== JSON.stringify((b as never)[k]))
      .sort();
  assert.equal(differs(ubuntuFocal, ubuntuJammy), [
    'aptReadsArmoredKeys',
    'name',
    'security',
    'suite',
    'updatesSuites',
  ]);
  assert.equal(differs(ubuntuJammy, ubuntuNoble), [
    'debootstrapScript',
    'name',
    'resolvedPackages',
    'security',
    'signedChain',
    'suite',
    'updatesSuites',
  ]);
  assert.equal(differs(debianBookworm, debianTrixie), [
    'keyringHint',
    'name',
    'security',
    'suite',
    'updatesSuites',
  ]);
});

test('renderDeb822: one stanza per source, signed', () => {
  const [main] = distroSources(getDistro('ubuntu-noble'), '/etc/apt/keyrings/ubuntu.gpg');
  assert.is(
    renderDeb822(main!),
    '# ubuntu-noble (written by ib-native)\nTypes: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble noble-updates\nComponents: main restricted universe\nSigned-By: /etc/apt/keyrings/ubuntu.gpg\n',
  );
});

const flat = {
  name: 'kubernetes',
  uris: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/',
  suites: ['/'],
  components: [],
};

test('renderDeb822: a flat repo (Suites: /) has no Components line', () => {
  assert.is(
    renderDeb822({ ...flat, signedBy: '/etc/apt/keyrings/ib-native-kubernetes.asc' }),
    `# kubernetes (written by ib-native)
Types: deb
URIs: https://pkgs.k8s.io/core:/stable:/v1.31/deb/
Suites: /
Signed-By: /etc/apt/keyrings/ib-native-kubernetes.asc
`,
  );
  assert.match(renderDeb822({ ...flat, suites: ['stable/'] }), /^Suites: stable\/$/m);
});

test('repoSource: components default to main, none for a flat suite; given ones are kept', () => {
  const r = { name: 'r', url: 'http://m/', packages: [] };
  assert.equal(repoSource({ ...r, suite: 'stable' }).components, ['main']);
  assert.equal(repoSource({ ...r, suite: '/' }).components, []);
  assert.equal(repoSource({ ...r, suite: 'focal', components: ['stable', 'edge'] }).components, [
    'stable',
    'edge',
  ]);
});

test('aptSourceProblems / renderDeb822: values that would break the file or the flat rule are refused', () => {
  const problems = (s: Partial<AptSource>) =>
    aptSourceProblems({ ...flat, ...s }).map((p) => `${p.field}: ${p.message}`);
  assert.equal(problems({}), []);
  assert.equal(problems({ components: ['main'] }), [
    'components: a flat repo (suite "/") has no components; drop components (main)',
  ]);
  assert.equal(problems({ suites: ['stable'] }), [
    'components: needs a component such as main (or a flat suite ending in "/")',
  ]);
  assert.match(problems({ suites: ['/', 'stable'], components: [] }).join(), /mixes flat suites/);
  assert.match(problems({ suites: ['a b/'] }).join(), /suites: "a b\/" is not a suite name/);
  assert.match(problems({ suites: ['../x/'] }).join(), /is not a suite name/);
  assert.match(problems({ suites: ['x\nSigned-By: /k/'] }).join(), /is not a suite name/);
  assert.match(
    problems({ uris: 'http://m/\nTrusted: yes' }).join(),
    /uris: [\s\S]* is not a URI without spaces/,
  );
  assert.match(problems({ uris: '' }).join(), /uris:/);
  assert.match(problems({ suites: [] }).join(), /suites: needs a suite/);
  assert.match(
    problems({ suites: ['stable'], components: ['ma in'] } as never).join(),
    /"ma in" is not a component name/,
  );
  assert.match(
    problems({ signedBy: 'relative.asc' }).join(),
    /signedBy: "relative.asc" is not an absolute path/,
  );
  assert.match(problems({ name: 'a\nb' }).join(), /name: must be one line/);
  assert.throws(
    () => renderDeb822({ ...flat, components: ['main'] }),
    (e: Error) =>
      e instanceof UserError &&
      /apt source "kubernetes" cannot be written: components a flat repo/.test(e.message),
  );
});

test('signed boot chains: where each release keeps shim, MokManager and its signed GRUBs (read from the .debs)', () => {
  const row = (d: Distro) => {
    const c = d.signedChain!;
    return [d.name, c.vendor, c.shim.split('/').at(-1), c.mokManager.split('/').at(-1), c.grubSerial].join(
      ' ',
    );
  };
  assert.equal([ubuntuFocal, ubuntuJammy, ubuntuNoble, debianBookworm, debianTrixie].map(row), [
    'ubuntu-focal ubuntu shimx64.efi.signed.latest mmx64.efi false',
    'ubuntu-jammy ubuntu shimx64.efi.signed.latest mmx64.efi false',
    // noble's GRUB 2.12 has the serial terminal built in
    'ubuntu-noble ubuntu shimx64.efi.signed.latest mmx64.efi true',
    'debian-bookworm debian shimx64.efi.signed mmx64.efi.signed true',
    'debian-trixie debian shimx64.efi.signed mmx64.efi.signed true',
  ]);
  for (const d of [ubuntuFocal, ubuntuNoble, debianBookworm, debianTrixie]) {
    assert.is(d.signedChain.grub, '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed');
    assert.is(d.signedChain.grubCd, '/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed');
  }
  // the unsigned kernels of each family, and the signed ones not taken for them
  assert.ok(ubuntuNoble.signedChain.unsignedKernel.test('linux-image-unsigned-6.8.0-31-generic'));
  assert.not.ok(ubuntuNoble.signedChain.unsignedKernel.test('linux-image-6.8.0-31-generic'));
  assert.ok(debianTrixie.signedChain.unsignedKernel.test('linux-image-6.12.48+deb13-amd64-unsigned'));
  assert.not.ok(debianTrixie.signedChain.unsignedKernel.test('linux-image-amd64'));
});

test.run();
