import { UserError } from '../errors.ts';
import type { DistroName } from '../profile/schema.ts';
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
