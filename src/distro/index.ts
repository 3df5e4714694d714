import { UserError } from '../errors.ts';
import type { DistroName, Repo } from '../profile/schema.ts';
import { debianBookworm } from './debian.ts';
import type { AptSource, Distro } from './types.ts';
import { ubuntuFocal } from './ubuntu.ts';

export type { AptSource, Distro } from './types.ts';

/** Every supported distro; add a new one here (see ARCHITECTURE.md). */
export const DISTROS: Record<DistroName, Distro> = {
  'debian-bookworm': debianBookworm,
  'ubuntu-focal': ubuntuFocal,
};

export function getDistro(name: string, mirror?: string): Distro {
  // own keys only: "toString" or "constructor" are not distros
  const d = Object.hasOwn(DISTROS, name) ? DISTROS[name as DistroName] : undefined;
  if (!d)
    throw new UserError(`unknown distro "${name}"`, `choose one of: ${Object.keys(DISTROS).join(', ')}`);
  return mirror ? { ...d, mirror: mirror.replace(/\/+$/, '') } : d;
}

/** The distro's own apt sources (pure). --mirror replaces the main mirror; security keeps its own. */
export function distroSources(d: Distro, keyInImage: string): AptSource[] {
  return [
    {
      name: d.name,
      uris: d.mirror,
      suites: [d.suite, ...d.updatesSuites],
      components: d.components,
      signedBy: keyInImage,
    },
    {
      name: `${d.name}-security`,
      uris: d.security.mirror,
      suites: [d.security.suite],
      components: d.components,
      signedBy: keyInImage,
    },
  ];
}

/** A suite that is an exact path (ends in "/"): a flat repository, which has no components. */
export const isFlatSuite = (suite: string) => suite.endsWith('/');

/** A profile repo's source, unsigned (pure): components default to main, none for a flat repo. */
export function repoSource(r: Repo): AptSource {
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
