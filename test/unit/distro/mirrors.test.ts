import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../../src/distro/debian.ts';
import {
  distroSources,
  getDistro,
  mirrorUrlProblem,
  parseSuiteMirrors,
  renderDeb822,
  suiteUrls,
  withMainMirror,
} from '../../../src/distro/index.ts';
import { UserError } from '../../../src/errors.ts';
import { profileSchema } from '../../../src/profile/schema.ts';

const table = (d: ReturnType<typeof getDistro>) =>
  distroSources(d, '/k').map((s) => `${s.name} ${s.uris} ${s.suites.join(',')}`);

test('no choice: the descriptor itself, unchanged (so cache keys of existing builds stay)', () => {
  assert.is(getDistro('debian-bookworm', {}), debianBookworm);
  assert.is(getDistro('debian-bookworm', { mirror: 'http://deb.debian.org/debian/' }), debianBookworm);
  assert.is(getDistro('ubuntu-focal', { mirror: '' }).mirror, 'http://archive.ubuntu.com/ubuntu');
});

test('a site mirror serves every suite: security follows --mirror unless mapped', () => {
  const d = getDistro('debian-bookworm', { mirror: 'http://site.local/debian///' });
  assert.is(d.mirror, 'http://site.local/debian');
  assert.equal(table(d), [
    'debian-bookworm http://site.local/debian bookworm,bookworm-updates,bookworm-security',
  ]);
  assert.is(debianBookworm.mirror, 'http://deb.debian.org/debian', 'descriptor not mutated');
  assert.is(debianBookworm.security.mirror, 'http://deb.debian.org/debian-security');
  const u = getDistro('ubuntu-jammy', { mirror: 'http://m/ubuntu/' });
  assert.equal(table(u), ['ubuntu-jammy http://m/ubuntu jammy,jammy-updates,jammy-security']);
});

test('per-suite map: each mapped suite its own source, in suite order; others follow the main archive', () => {
  const d = getDistro('debian-trixie', {
    mirror: 'http://site/debian',
    mirrors: { 'trixie-security': 'http://site/debian-security/' },
  });
  assert.equal(table(d), [
    'debian-trixie http://site/debian trixie,trixie-updates',
    'debian-trixie-security http://site/debian-security trixie-security',
  ]);
  // the map alone: main and updates stay public, security from the site
  const s = getDistro('ubuntu-noble', { mirrors: { 'noble-security': 'https://sec.site/ubuntu' } });
  assert.equal(table(s), [
    'ubuntu-noble http://archive.ubuntu.com/ubuntu noble,noble-updates',
    'ubuntu-noble-security https://sec.site/ubuntu noble-security',
  ]);
  // updates mapped elsewhere: three sources
  const t = getDistro('ubuntu-focal', {
    mirror: 'http://a/ubuntu',
    mirrors: { 'focal-updates': 'http://b/ubuntu' },
  });
  assert.equal(suiteUrls(t), [
    { suite: 'focal', url: 'http://a/ubuntu' },
    { suite: 'focal-updates', url: 'http://b/ubuntu' },
    { suite: 'focal-security', url: 'http://a/ubuntu' },
  ]);
  assert.equal(table(t), [
    'ubuntu-focal http://a/ubuntu focal,focal-security',
    'ubuntu-focal-updates http://b/ubuntu focal-updates',
  ]);
  assert.is(
    renderDeb822(distroSources(t, '/k')[1]!),
    '# ubuntu-focal-updates (written by ib-native)\nTypes: deb\nURIs: http://b/ubuntu\nSuites: focal-updates\nComponents: main restricted universe\nSigned-By: /k\n',
  );
});

test('map keys: the release suite and suites of another distro are refused, naming the field', () => {
  assert.throws(
    () => getDistro('ubuntu-focal', { mirrors: { focal: 'http://x/ubuntu' } }),
    (e: Error) =>
      e instanceof UserError &&
      /"focal" is the release suite of ubuntu-focal/.test(e.message) &&
      /--mirror/.test(e.hint!),
  );
  assert.throws(
    () => getDistro('debian-bookworm', { mirrors: { 'focal-security': 'http://x/ubuntu' } }),
    (e: Error) =>
      e instanceof UserError &&
      e.message === 'mirrors: debian-bookworm has no suite "focal-security"' &&
      e.hint ===
        'map one of: bookworm-updates, bookworm-security (or choose the distro the map was written for)',
  );
});

test('mirror URLs given to getDistro are checked too (plan and shell flags)', () => {
  assert.throws(
    () => getDistro('debian-bookworm', { mirror: 'http://x/debian\nTypes: deb' }),
    (e: Error) => e instanceof UserError && e.message.startsWith('mirror "http://x/debian'),
  );
  assert.throws(
    () => getDistro('debian-bookworm', { mirrors: { 'bookworm-security': 'ftp://x/' } }),
    (e: Error) => e instanceof UserError && e.message.startsWith('mirrors.bookworm-security "ftp://x/"'),
  );
});

test('withMainMirror: a fallback mirror carries the suites that followed the main archive, not the mapped ones', () => {
  const site = getDistro('debian-bookworm', {
    mirror: 'http://a/debian',
    mirrors: { 'bookworm-security': 'http://sec/debian-security' },
  });
  const moved = withMainMirror(site, 'http://b/debian');
  assert.equal(
    suiteUrls(moved).map((s) => s.url),
    ['http://b/debian', 'http://b/debian', 'http://sec/debian-security'],
  );
  // without a site mirror, security stays on the public security archive
  const pub = withMainMirror(getDistro('debian-bookworm'), 'http://ftp.de.debian.org/debian');
  assert.equal(
    suiteUrls(pub).map((s) => s.url),
    [
      'http://ftp.de.debian.org/debian',
      'http://ftp.de.debian.org/debian',
      'http://deb.debian.org/debian-security',
    ],
  );
  assert.is(withMainMirror(site, 'http://a/debian'), site);
});

test('mirrorUrlProblem: http, https, file; one line, no spaces or quotes', () => {
  for (const ok of [
    'http://deb.debian.org/debian',
    'https://m:8080/u',
    'file:///srv/mirror',
    'http://[::1]:80/d',
  ])
    assert.is(mirrorUrlProblem(ok), undefined, ok);
  for (const bad of [
    'deb.debian.org/debian',
    'ftp://m/d',
    'javascript:alert(1)',
    'http://m/d\nTypes: deb',
    'http://m/d\r',
    'http://m/d x',
    'http://m/d\ty',
    'http://m/"d',
    "http://m/'d",
    'http://',
    '',
  ])
    assert.type(mirrorUrlProblem(bad), 'string', JSON.stringify(bad));
});

test('profile schema: mirror and mirrors use the same grammar; suite keys checked', () => {
  const parse = (p: object) => profileSchema.safeParse({ name: 'x', ...p });
  assert.ok(parse({ mirror: 'http://m/d', mirrors: { 'focal-security': 'https://s/u' } }).success);
  const bad = parse({ mirror: 'http://m/d\nTypes: deb' });
  assert.not.ok(bad.success);
  assert.equal(bad.error!.issues[0]!.path, ['mirror']);
  assert.not.ok(parse({ mirrors: { 'focal-security': 'http://s/u\nX: y' } }).success);
  assert.not.ok(parse({ mirrors: { 'Focal Security': 'http://s/u' } }).success);
  assert.not.ok(parse({ mirrors: { 'focal-security': 'ftp://s/u' } }).success);
});

test('parseSuiteMirrors: SUITE=URL, repeatable, last one wins; anything else a UserError with an example', () => {
  assert.is(parseSuiteMirrors([]), undefined);
  assert.is(parseSuiteMirrors(undefined), undefined);
  assert.equal(
    parseSuiteMirrors([
      'focal-security=http://s/ubuntu',
      'focal-updates=https://u/ubuntu',
      'focal-security=http://t/u',
    ]),
    { 'focal-security': 'http://t/u', 'focal-updates': 'https://u/ubuntu' },
  );
  for (const bad of [
    'http://s/ubuntu',
    '=http://s',
    'focal-security=',
    'focal security=http://s',
    'x=http://s y',
  ])
    assert.throws(
      () => parseSuiteMirrors([bad]),
      (e: Error) =>
        e instanceof UserError &&
        e.message.startsWith(`--suite-mirror "${bad}"`) &&
        /--suite-mirror focal-security=/.test(e.hint!),
      bad,
    );
});

test.run();
