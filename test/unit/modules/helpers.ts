import type { Op } from '../../../src/ops/types.ts';
import { type ResolvedProfile, resolvedFromObject } from '../../../src/profile/resolve.ts';
import { type ProfileInput, profileSchema } from '../../../src/profile/schema.ts';

/** A resolved profile from fields as a user writes them (schema defaults applied, typos rejected). */
export function profile(fields: Omit<ProfileInput, 'name'> = {}, sources: string[] = []): ResolvedProfile {
  return resolvedFromObject({ ...profileSchema.parse({ name: 'test', ...fields }), sources });
}

/** The content an op list writes at a path (undefined when nothing writes it). */
export function written(ops: readonly Op[], path: string): string | undefined {
  const op = ops.find((o) => o.kind === 'writeFile' && o.path === path);
  return op?.kind === 'writeFile' ? op.content : undefined;
}

/** Ops without their module and contexts, for comparing with expected bodies. */
export function bodies(ops: readonly Op[]): Record<string, unknown>[] {
  return ops.map(({ module: _m, contexts: _c, ...body }) =>
    Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
  );
}

/** Content lines after the "written by ib-native" header. */
export function withoutHeader(content: string | undefined): string | undefined {
  return content?.replace(/^# written by ib-native[^\n]*\n/, '');
}
