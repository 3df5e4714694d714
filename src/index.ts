/**
 * Public API of ib-native: what profile authors import.
 *   import { defineProfile } from 'ib-native';
 */
import type { ProfileInput } from './profile/schema.ts';

export type { ResolvedProfile } from './profile/resolve.ts';
export type { Context, DistroName, Format, ProfileInput } from './profile/schema.ts';

/** Identity function that gives editors the profile's types. */
export function defineProfile(profile: ProfileInput): ProfileInput {
  return profile;
}
