import { UserError } from '../errors.ts';
import { debianBookworm, debianTrixie } from './debian.ts';
import { type MirrorChoice, mirrorUrlProblem, suiteUrls, trimSlashes } from './mirrors.ts';
import type { AptSource, Distro } from './types.ts';
import { ubuntuFocal, ubuntuJammy, ubuntuNoble } from './ubuntu.ts';

export type { MirrorChoice } from './mirrors.ts';
export { mirrorUrlProblem, parseSuiteMirrors, suiteUrls, withMainMirror } from './mirrors.ts';
export type { AptSource, Distro } from './types.ts';

/**
 * Every supported release, the one place their names are spelled: the profile schema's enum,
 * the CLI's choices and `DistroName` derive from this list. Adding a release = a descriptor
 * here and its unit test (see ARCHITECTURE.md).
 */
const RELEASES = [ubuntuFocal, ubuntuJammy, ubuntuNoble, debianBookworm, debianTrixie] as const;

export type DistroName = (typeof RELEASES)[number]['name'];
/** The release names, in the registry's order (a non-empty tuple, as zod's enum wants). */
export const DISTRO_NAMES = RELEASES.map((d) => d.name) as [DistroName, ...DistroName[]];
export const DISTROS = Object.fromEntries(RELEASES.map((d): [string, Distro] => [d.name, d])) as Readonly<
  Record<DistroName, Distro>
>;

/**
 * The distro with its mirrors chosen (pure). Rule: `mirror` replaces the main archive; a suite
 * named in `mirrors` comes from its URL; any other suite comes from `mirror` when one is given
 * other than the distro's own (a site mirror serves the whole distro: no suite silently reaches
 * the public archive), else from the descriptor (Debian's security suite from
 * deb.debian.org/debian-security).
 */
export function getDistro(name: string, choice: MirrorChoice = {}): Distro {
  // own keys only: "toString" or "constructor" are not distros
  const d = Object.hasOwn(DISTROS, name) ? DISTROS[name as DistroName] : undefined;
  if (!d)
    throw new UserError(
      `unknown distro "${name}"`,
      `choose one of: ${Object.keys(DISTROS).sort().join(', ')}`,
    );
  const mapped = Object.entries(choice.mirrors ?? {});
  for (const [field, url] of [['mirror', choice.mirror], ...mapped.map(([s, u]) => [`mirrors.${s}`, u])]) {
    const problem = url ? mirrorUrlProblem(url) : undefined;
    if (problem)
      throw new UserError(
        `${field} "${url}" ${problem}`,
        'set it in the profile (mirror, mirrors) or with --mirror / --suite-mirror SUITE=URL',
      );
  }
  const movable = [...d.updatesSuites, d.security.suite];
  for (const [suite] of mapped) {
    if (suite === d.suite)
      throw new UserError(
        `mirrors: "${suite}" is the release suite of ${d.name}, which comes from mirror`,
        'set the main archive with mirror (profile) or --mirror; mirrors maps only the other suites',
      );
    if (!movable.includes(suite))
      throw new UserError(
        `mirrors: ${d.name} has no suite "${suite}"`,
        `map one of: ${movable.join(', ')} (or choose the distro the map was written for)`,
      );
  }
  const main = choice.mirror ? trimSlashes(choice.mirror) : d.mirror;
  // the distro's own archive given as --mirror is not a site mirror: nothing moves
  const site = main !== d.mirror;
  if (!site && !mapped.length) return d;
  const mirrors: Record<string, string> = {};
  if (site) for (const s of movable) mirrors[s] = main;
  for (const [suite, url] of mapped) mirrors[suite] = trimSlashes(url);
  return { ...d, mirror: main, mirrors };
}

/**
 * The distro's own apt sources (pure): one per URL, suites in order. The source holding the
 * release suite is named after the distro, another after its first suite's suffix
 * (debian-bookworm-security).
 */
export function distroSources(d: Distro, keyInImage: string): AptSource[] {
  const byUrl = new Map<string, string[]>();
  for (const { suite, url } of suiteUrls(d)) byUrl.set(url, [...(byUrl.get(url) ?? []), suite]);
  return [...byUrl].map(([uris, suites]) => ({
    name: suites.includes(d.suite) ? d.name : `${d.name}${suites[0]!.slice(d.suite.length)}`,
    uris,
    suites,
    components: d.components,
    signedBy: keyInImage,
  }));
}

/** A suite that is an exact path (ends in "/"): a flat repository, which has no components. */
export const isFlatSuite = (suite: string) => suite.endsWith('/');

/** A profile repo's source (a `Repo` of src/profile/schema.ts), unsigned (pure): components default to main, none for a flat repo. */
export function repoSource(r: {
  name: string;
  url: string;
  suite: string;
  components?: string[];
}): AptSource {
  return {
    name: r.name,
    uris: r.url,
    suites: [r.suite],
    components: r.components ?? (isFlatSuite(r.suite) ? [] : ['main']),
  };
}

const SUITE = /^[A-Za-z0-9._~+/-]+$/;
const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._+/-]*$/;
const URI = /^[a-z][a-z0-9+.-]*:[^\s]+$/;

/** What is wrong with one source's fields (pure): each value lands on a deb822 line, so its grammar is checked. */
export function aptSourceProblems(s: AptSource): { field: keyof AptSource; message: string }[] {
  const out: { field: keyof AptSource; message: string }[] = [];
  if (/[\r\n]/.test(s.name)) out.push({ field: 'name', message: 'must be one line' });
  if (!URI.test(s.uris)) out.push({ field: 'uris', message: `"${s.uris}" is not a URI without spaces` });
  if (s.suites.length === 0) out.push({ field: 'suites', message: 'needs a suite' });
  for (const suite of s.suites)
    if (!SUITE.test(suite) || suite.split('/').includes('..'))
      out.push({
        field: 'suites',
        message: `"${suite}" is not a suite name (letters, digits, . _ ~ + - /; "/" alone or a path ending in "/" for a flat repo)`,
      });
  const flat = s.suites.filter(isFlatSuite);
  if (flat.length > 0 && flat.length < s.suites.length)
    out.push({
      field: 'suites',
      message: 'mixes flat suites (ending in "/") with named ones; use two sources',
    });
  if (flat.length > 0 && s.components.length > 0)
    out.push({
      field: 'components',
      message: `a flat repo (suite "${flat[0]}") has no components; drop components (${s.components.join(' ')})`,
    });
  if (flat.length === 0 && s.components.length === 0)
    out.push({
      field: 'components',
      message: 'needs a component such as main (or a flat suite ending in "/")',
    });
  for (const c of s.components)
    if (!COMPONENT.test(c)) out.push({ field: 'components', message: `"${c}" is not a component name` });
  if (s.signedBy !== undefined && !/^\/[^\s]+$/.test(s.signedBy))
    out.push({ field: 'signedBy', message: `"${s.signedBy}" is not an absolute path without spaces` });
  return out;
}

/**
 * Render one source as deb822 text (pure). A flat repo (suite "/" or a path ending in "/", as
 * pkgs.k8s.io) gets no Components line. Refuses a source whose values break the format.
 */
export function renderDeb822(s: AptSource): string {
  const problems = aptSourceProblems(s);
  if (problems.length)
    throw new UserError(
      `apt source "${s.name.replace(/[\r\n]+/g, ' ')}" cannot be written: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
      'fix the repository (or mirror) the profile gives',
    );
  const lines = [
    `# ${s.name} (written by ib-native)`,
    'Types: deb',
    `URIs: ${s.uris}`,
    `Suites: ${s.suites.join(' ')}`,
  ];
  if (s.components.length) lines.push(`Components: ${s.components.join(' ')}`);
  if (s.trusted) lines.push('Trusted: yes');
  else if (s.signedBy) lines.push(`Signed-By: ${s.signedBy}`);
  return `${lines.join('\n')}\n`;
}
