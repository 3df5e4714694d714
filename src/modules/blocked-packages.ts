import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'blockedPackages';

export const BLOCKED_PREFERENCES = '/etc/apt/preferences.d/ib-native-blocked';

/** apt preferences that forbid installing each package from any origin (pure; the engine may reuse it during install). */
export function renderBlockedPreferences(names: readonly string[]): string {
  return names
    .map(
      (n) =>
        `Explanation: blocked by ib-native (profile field "blockedPackages")\nPackage: ${n}\nPin: origin *\nPin-Priority: -1\n`,
    )
    .join('\n');
}

/** Issues for packages that are both blocked and asked for (by the profile, a repo or a module: `requested`). */
export function blockedPackageIssues(p: ResolvedProfile, requested: readonly string[]): Issue[] {
  const blocked = new Set(p.blockedPackages ?? []);
  const names = [...requested, ...(p.repos ?? []).flatMap((r) => r.packages)].map((r) =>
    r.replace(/[:=].*$/, ''),
  );
  return [...new Set(names)]
    .filter((name) => blocked.has(name))
    .map((name) => ({
      path: 'blockedPackages',
      message: `"${name}" is blocked but also requested (packages, a repo or a module); remove it from one side`,
    }));
}

/** Packages that must never be installed, kept blocked in the image so later upgrades cannot pull them in. */
export const blockedPackagesModule: ConfigModule = {
  name: NAME,
  plan(p) {
    const names = p.blockedPackages ?? [];
    if (names.length === 0) return [];
    return ops(NAME, undefined, {
      kind: 'writeFile',
      path: BLOCKED_PREFERENCES,
      mode: '0644',
      content: renderBlockedPreferences(names),
    });
  },
};
