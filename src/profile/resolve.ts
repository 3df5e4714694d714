import path from 'node:path';
import { UserError, ValidationError } from '../errors.ts';
import { loadProfileFile, locateProfile } from './load.ts';
import { applyRemovals, mergeProfiles } from './merge.ts';
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
}

const DEFAULT_DISTRO: DistroName = 'ubuntu-focal';

async function chain(
  ref: string,
  relativeTo: string,
  seen: string[],
): Promise<{ files: string[]; merged: Profile }> {
  const file = locateProfile(ref, relativeTo);
  if (seen.includes(file))
    throw new UserError(
      `profile inheritance loops: ${[...seen, file].join(' -> ')}`,
      'remove one of the extends',
    );
  const { profile } = await loadProfileFile(file);
  if (!profile.extends) return { files: [file], merged: profile };
  const parent = await chain(profile.extends, path.dirname(file), [...seen, file]);
  let merged = mergeProfiles(
    parent.merged as Record<string, unknown>,
    profile as Record<string, unknown>,
  ) as Profile;
  if (profile.remove) {
    const { result, unmatched } = applyRemovals(merged as Record<string, unknown>, profile.remove);
    if (unmatched.length)
      throw new ValidationError(
        file,
        unmatched.map((u) => ({
          path: `remove.${u.split(':')[0]}`,
          message: `nothing inherited to remove named "${u.split(': ')[1]}"`,
        })),
      );
    merged = result as Profile;
  }
  merged = { ...merged, name: profile.name };
  return { files: [...parent.files, file], merged };
}

export async function resolveProfile(
  ref: string,
  overrides: ResolveOverrides = {},
  cwd = process.cwd(),
): Promise<ResolvedProfile> {
  const { files, merged } = await chain(ref, cwd, []);
  // re-validate the merged whole: removals or merges could produce something the parts did not
  const check = profileSchema.safeParse(merged);
  if (!check.success)
    throw new ValidationError(
      files[files.length - 1]!,
      check.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  const { extends: _e, remove: _r, ...rest } = merged;
  return Object.freeze({
    ...rest,
    distro: overrides.distro ?? merged.distro ?? DEFAULT_DISTRO,
    formats: overrides.formats ?? merged.formats ?? (['iso', 'qcow2'] as Format[]),
    mirror: overrides.mirror ?? merged.mirror,
    hostname: merged.hostname ?? 'localhost',
    packages: merged.packages ?? [],
    sources: files,
  });
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
