import path from 'node:path';
import { UserError, ValidationError } from '../errors.ts';
import { locateProfile } from './files.ts';
import { loadProfileFile } from './load.ts';
import {
  applyRemovalsTraced,
  mergeTraced,
  type Origin,
  originOf,
  type Removal,
  type Traced,
} from './merge.ts';
import { type DistroName, type Format, type Profile, profileSchema } from './schema.ts';

/** A profile with its inheritance applied and the build-wide defaults filled in. Read-only. */
export type ResolvedProfile = Readonly<
  Omit<Profile, 'extends' | 'remove'> & {
    distro: DistroName;
    formats: Format[];
    hostname: string;
    packages: string[];
    /** Files the profile was assembled from, base first. */
    sources: string[];
  }
>;

export interface ResolveOverrides {
  distro?: DistroName;
  formats?: Format[];
  mirror?: string;
  /** --suite-mirror SUITE=URL: added to the profile's mirrors (same suite: the flag wins). */
  mirrors?: Record<string, string>;
}

const DEFAULT_DISTRO: DistroName = 'ubuntu-focal';

/** One file of an `extends` chain, read and validated on its own. */
export interface ProfileLayer {
  file: string;
  profile: Profile;
}

/** Where a value comes from when no file of the chain set it. */
export const DEFAULT_ORIGIN = '(default)';
/** Where a value comes from when a command-line flag (--distro, --format, --mirror) set it. */
export const OVERRIDE_ORIGIN = '(command line)';
/** The origin of `sources`: the chain itself. */
export const CHAIN_ORIGIN = '(extends chain)';

/** The files of an `extends` chain, base first. */
async function loadChain(ref: string, relativeTo: string, seen: string[]): Promise<ProfileLayer[]> {
  const file = locateProfile(ref, relativeTo);
  if (seen.includes(file))
    throw new UserError(
      `profile inheritance loops: ${[...seen, file].join(' -> ')}`,
      'remove one of the extends',
    );
  const { profile } = await loadProfileFile(file);
  if (!profile.extends) return [{ file, profile }];
  return [...(await loadChain(profile.extends, path.dirname(file), [...seen, file])), { file, profile }];
}

/**
 * Merge an `extends` chain (base first; pure): each file over what it inherits, then its `remove`
 * against that. Also returns where every value came from and what each `remove` dropped.
 */
export function mergeChain(layers: readonly ProfileLayer[]): {
  merged: Profile;
  origin: Origin;
  removed: Removal[];
} {
  const [root, ...children] = layers;
  if (!root) throw new Error('mergeChain: no profile');
  let t: Traced<Record<string, unknown>> = {
    value: root.profile as Record<string, unknown>,
    origin: originOf(root.profile, root.file),
  };
  const removed: Removal[] = [];
  for (const { file, profile } of children) {
    t = mergeTraced(t, profile as Record<string, unknown>, file);
    if (profile.remove) {
      const r = applyRemovalsTraced(t, profile.remove, file);
      if (r.unmatched.length)
        throw new ValidationError(
          file,
          r.unmatched.map((u) => ({
            path: `remove.${u.split(':')[0]}`,
            message: `nothing inherited to remove named "${u.split(': ')[1]}"`,
          })),
        );
      t = r.result;
      removed.push(...r.removed);
    }
  }
  return { merged: t.value as Profile, origin: t.origin, removed };
}

/** A resolved profile, where each of its values came from, and the inherited entries removed on the way. */
export interface TracedProfile {
  profile: ResolvedProfile;
  origin: Origin;
  removed: Removal[];
}

/** Fill the build-wide defaults and apply the overrides (pure), tracking their origin. */
export function finishProfile(
  merged: Profile,
  origin: Origin,
  files: string[],
  overrides: ResolveOverrides = {},
): { profile: ResolvedProfile; origin: Origin } {
  const keys: Record<string, Origin> = { ...origin.keys };
  delete keys.extends;
  delete keys.remove;
  const pick = <T>(field: string, override: T | undefined, own: T | undefined, fallback: T): T => {
    const value = override ?? own ?? fallback;
    if (override !== undefined) keys[field] = originOf(value, OVERRIDE_ORIGIN);
    else if (own === undefined && value !== undefined) keys[field] = originOf(value, DEFAULT_ORIGIN);
    return value;
  };
  const { extends: _e, remove: _r, ...rest } = merged;
  const profile: ResolvedProfile = Object.freeze({
    ...rest,
    distro: pick('distro', overrides.distro, merged.distro, DEFAULT_DISTRO),
    formats: pick('formats', overrides.formats, merged.formats, ['iso', 'qcow2'] as Format[]),
    mirror: pick('mirror', overrides.mirror, merged.mirror, undefined),
    mirrors: pick(
      'mirrors',
      overrides.mirrors && { ...merged.mirrors, ...overrides.mirrors },
      merged.mirrors,
      undefined,
    ),
    hostname: pick('hostname', undefined, merged.hostname, 'localhost'),
    packages: pick('packages', undefined, merged.packages, [] as string[]),
    sources: files,
  });
  keys.sources = originOf(files, CHAIN_ORIGIN);
  return { profile, origin: { ...origin, keys } };
}

export async function resolveProfileTraced(
  ref: string,
  overrides: ResolveOverrides = {},
  cwd = process.cwd(),
): Promise<TracedProfile> {
  const layers = await loadChain(ref, cwd, []);
  const files = layers.map((l) => l.file);
  const { merged, origin, removed } = mergeChain(layers);
  // re-validate the merged whole: removals or merges could produce something the parts did not
  const check = profileSchema.safeParse(merged);
  if (!check.success)
    throw new ValidationError(
      files[files.length - 1]!,
      check.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  return { ...finishProfile(merged, origin, files, overrides), removed };
}

export async function resolveProfile(
  ref: string,
  overrides: ResolveOverrides = {},
  cwd = process.cwd(),
): Promise<ResolvedProfile> {
  return (await resolveProfileTraced(ref, overrides, cwd)).profile;
}

/** Build a resolved profile directly from an object (tests, programmatic use). */
export function resolvedFromObject(p: Profile & Partial<ResolvedProfile>): ResolvedProfile {
  return Object.freeze({
    ...p,
    distro: p.distro ?? DEFAULT_DISTRO,
    formats: p.formats ?? (['iso', 'qcow2'] as Format[]),
    hostname: p.hostname ?? 'localhost',
    packages: p.packages ?? [],
    sources: p.sources ?? [],
  });
}
