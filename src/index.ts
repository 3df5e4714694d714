/**
 * Public API of ib-native: what profile authors import, and the programmatic build.
 *   import { defineProfile } from 'ib-native';
 *   import { build } from 'ib-native';   // see src/api.ts
 */
import type { ProfileInput } from './profile/schema.ts';

export { type BuildApiOptions, build } from './api.ts';
/** The original image-builder's GPT layout (root is partition 1), for profiles to reuse or adapt. */
export { DEFAULT_DISK_SIZE, DEFAULT_PARTITIONS } from './disk/layout.ts';
export { CommandError, InterruptedError, UserError } from './errors.ts';
export type { BuildEvent, ErrorEvent, EventOf, ResultEvent } from './events.ts';
export { parseEvent } from './events.ts';
export type { ResolvedProfile } from './profile/resolve.ts';
export type { Context, DistroName, Format, ProfileInput } from './profile/schema.ts';

/** Identity function that gives editors the profile's types. */
export function defineProfile(profile: ProfileInput): ProfileInput {
  return profile;
}
