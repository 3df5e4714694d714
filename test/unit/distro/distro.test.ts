import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../../src/distro/debian.ts';
import {
  aptSourceProblems,
  DISTROS,
  distroSources,
  getDistro,
  renderDeb822,
  repoSource,
} from '../../../src/distro/index.ts';
import type { AptSource } from '../../../src/distro/types.ts';
import { ubuntuFocal } from '../../../src/distro/ubuntu.ts';
import { UserError } from '../../../src/errors.ts';
import { DISTROS as SCHEMA_DISTROS } from '../../../src/profile/schema.ts';

test('getDistro: every distro the schema accepts exists, under its own name', () => {
  assert.equal(Object.keys(DISTROS).sort(), [...SCHEMA_DISTROS].sort());
  for (const n of SCHEMA_DISTROS) assert.is(getDistro(n).name, n);
  assert.is(getDistro('debian-bookworm'), debianBookworm);
  assert.is(getDistro('ubuntu-focal'), ubuntuFocal);
});

test('getDistro: unknown name is a UserError whose hint lists the choices', () => {
  for (const name of ['fedora-40', '', 'toString', 'constructor', '__proto__']) {
    assert.throws(
      () => getDistro(name),
      (e: Error) =>
        e instanceof UserError &&
        e.message === `unknown distro "${name}"` &&
        e.hint === 'choose one of: debian-bookworm, ubuntu-focal',
      name,
    );
  }
});

test('getDistro: --mirror overrides the mirror (trailing slashes stripped), nothing else, no mutation', () => {
  const d = getDistro('debian-bookworm', 'http://mirror.local/debian///');
  assert.is(d.mirror, 'http://mirror.local/debian');
  assert.equal({ ...d, mirror: debianBookworm.mirror }, debianBookworm);
  assert.is(debianBookworm.mirror, 'http://deb.debian.org/debian');
  assert.is(getDistro('ubuntu-focal', 'http://m/ubuntu/').mirror, 'http://m/ubuntu');
  assert.is(getDistro('ubuntu-focal', '').mirror, 'http://archive.ubuntu.com/ubuntu');
});

test('Ubuntu: Debian shape with Ubuntu archive, kernel, components and an older apt', () => {
  assert.is(ubuntuFocal.family, 'ubuntu');
  assert.is(ubuntuFocal.arch, debianBookworm.arch);
  assert.equal(ubuntuFocal.bootPackages, debianBookworm.bootPackages);
  assert.equal(ubuntuFocal.components, ['main', 'restricted', 'universe']);
  assert.equal(ubuntuFocal.kernelPackages, ['linux-image-generic']);
  assert.equal(ubuntuFocal.headersPackages, ['linux-headers-generic']);
  assert.is(ubuntuFocal.aptReadsArmoredKeys, false);
  assert.is(debianBookworm.aptReadsArmoredKeys, true);
  assert.is(ubuntuFocal.keyring, '/usr/share/keyrings/ubuntu-archive-keyring.gpg');
  assert.match(ubuntuFocal.keyringHint, /ubuntu-keyring/);
  assert.match(debianBookworm.keyringHint, /debian-archive-keyring/);
  assert.equal(ubuntuFocal.security, {
    mirror: 'http://security.ubuntu.com/ubuntu',
    suite: 'focal-security',
  });
  // the same fields, plus where Ubuntu's keyring comes from on a host without it
  assert.equal(Object.keys(ubuntuFocal).sort(), [...Object.keys(debianBookworm), 'archiveKeyring'].sort());
});

test('distroSources: archive with updates, then security, both signed by the given key', () => {
  assert.equal(distroSources(getDistro('debian-bookworm', 'http://m/debian'), '/k.gpg'), [
    {
      name: 'debian-bookworm',
      uris: 'http://m/debian',
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      signedBy: '/k.gpg',
    },
    {
      name: 'debian-bookworm-security',
      uris: 'http://deb.debian.org/debian-security',
      suites: ['bookworm-security'],
      components: ['main'],
      signedBy: '/k.gpg',
    },
  ]);
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

test.run();
