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

/** Render one source as deb822 text (pure). */
export function renderDeb822(s: AptSource): string {
  const lines = [
    `# ${s.name} (written by ib-native)`,
    'Types: deb',
    `URIs: ${s.uris}`,
    `Suites: ${s.suites.join(' ')}`,
    `Components: ${s.components.join(' ')}`,
  ];
  if (s.trusted) lines.push('Trusted: yes');
  else if (s.signedBy) lines.push(`Signed-By: ${s.signedBy}`);
  return `${lines.join('\n')}\n`;
}
