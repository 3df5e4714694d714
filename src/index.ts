/**
 * Public API of ib-native: what profile authors import.
 *   import { defineProfile } from 'ib-native';
 */
import type { ProfileInput } from './profile/schema.ts';

/** The original image-builder's GPT layout (root is partition 1), for profiles to reuse or adapt. */
export { DEFAULT_DISK_SIZE, DEFAULT_PARTITIONS } from './disk/layout.ts';
export type { ResolvedProfile } from './profile/resolve.ts';
export type { Context, DistroName, Format, ProfileInput } from './profile/schema.ts';

/** Identity function that gives editors the profile's types. */
export function defineProfile(profile: ProfileInput): ProfileInput {
  return profile;
}
