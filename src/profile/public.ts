import { createHash } from 'node:crypto';
import type { ResolvedProfile } from './resolve.ts';

/** What stands in for a password hash in anything published. */
export const HIDDEN = '(set; not shown)';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The profile as it may be published (the manifest, `plan --json`): pure. Secrets reach only the
 * image file that needs them, with its mode: file and script contents (a private key, a token)
 * become their sha256 and size, password hashes are hidden. Everything else is kept as it was.
 */
export function publicProfile(p: ResolvedProfile): Record<string, unknown> {
  const digest = (content: string) => ({
    contentSha256: sha256(content),
    contentBytes: Buffer.byteLength(content),
  });
  return {
    ...p,
    ...(p.files && {
      files: p.files.map(({ content, ...f }) => ({ ...f, ...digest(content) })),
    }),
    ...(p.userScripts && {
      userScripts: p.userScripts.map(({ content, ...s }) =>
        content === undefined ? s : { ...s, ...digest(content) },
      ),
    }),
    ...(p.users && {
      users: p.users.map((u) => (u.passwordHash === undefined ? u : { ...u, passwordHash: HIDDEN })),
    }),
  };
}

/** Strings a build masks in its log and events: the profile's password hashes (pure). */
export function profileSecrets(p: Pick<ResolvedProfile, 'users'>): string[] {
  return (p.users ?? []).flatMap((u) => (u.passwordHash ? [u.passwordHash] : []));
}
