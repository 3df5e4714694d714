import { UserError } from './errors.ts';
import { type Family, type Format, familyOf, outputName } from './profile/formats.ts';
import type { BuildPlan } from './stages/plan.ts';

/**
 * `plan --matrix`: the independent build units of a set of profiles and distros, for the runners
 * sites already have (a CI workflow matrix, a Kubernetes Job per unit). A unit is one profile, on
 * one distro, making one format: `ib-native build` with exactly its `argv`. Units whose rootfs key
 * is the same make the same rootfs: with a shared cache (or on one runner, in order) the first
 * one builds it and the others reuse it. Pure: made from plans already checked.
 */
export interface MatrixUnit {
  /** Stable and unique: `<profile>-<distro>-<format>` (a CI job name, a Kubernetes index's key). */
  id: string;
  /** The profile's name (its outputs are named after it). */
  profile: string;
  /** How the profile was given to `plan` (a shipped name or a path): what `build` is given. */
  profileRef: string;
  distro: string;
  format: Format;
  family: Family;
  output: string;
  /** The content key of the rootfs the unit builds from (`plan` shows it; the stage cache is keyed by it). */
  rootfsKey: string;
  /** The other units making the same rootfs, by id. */
  sharesRootfsWith: string[];
  /** `ib-native` arguments that build this unit alone. */
  argv: string[];
}

export interface RootfsGroup {
  rootfsKey: string;
  distro: string;
  /** Units built from it, by id, in matrix order. */
  units: string[];
}

export interface Matrix {
  units: MatrixUnit[];
  /** Units by the rootfs they share: a runner that builds a group in order bootstraps once. */
  rootfs: RootfsGroup[];
}

/** One plan per (profile reference, distro): the unit list of each plan's formats. */
export function buildMatrix(plans: readonly { ref: string; plan: BuildPlan }[]): Matrix {
  const units: MatrixUnit[] = plans.flatMap(({ ref, plan }) =>
    plan.profile.formats.map((format) => ({
      id: `${plan.profile.name}-${plan.distro.name}-${format}`,
      profile: plan.profile.name,
      profileRef: ref,
      distro: plan.distro.name,
      format,
      family: familyOf(format),
      output: outputName(plan.profile.name, format),
      rootfsKey: plan.rootfsKey,
      sharesRootfsWith: [],
      argv: ['build', '--profile', ref, '--distro', plan.distro.name, '--format', format],
    })),
  );
  const seen = new Map<string, MatrixUnit>();
  for (const u of units) {
    const twin = seen.get(u.id);
    if (twin)
      throw new UserError(
        `two units are named ${u.id} (profiles ${twin.profileRef} and ${u.profileRef})`,
        'every profile of a matrix needs its own name (and each --profile is given once)',
      );
    seen.set(u.id, u);
  }
  const groups = new Map<string, RootfsGroup>();
  for (const u of units) {
    const g = groups.get(u.rootfsKey) ?? { rootfsKey: u.rootfsKey, distro: u.distro, units: [] };
    g.units.push(u.id);
    groups.set(u.rootfsKey, g);
  }
  for (const u of units) u.sharesRootfsWith = groups.get(u.rootfsKey)!.units.filter((id) => id !== u.id);
  return { units, rootfs: [...groups.values()] };
}
