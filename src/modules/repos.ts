import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type AptSource, aptSourceProblems, repoSource } from '../distro/index.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'repos';

/** The profile field behind each field of an apt source. */
const SOURCE_FIELD: Partial<Record<keyof AptSource, string>> = { uris: 'url', suites: 'suite' };

const isUrl = (key: string) => /^[a-z]+:\/\//.test(key);

/**
 * Warnings a plan prints (pure): a repo with `trusted: true` is installed from without any
 * signature check. Its source is written without `Trusted: yes` into the image (see
 * src/stages/rootfs.ts), so the deployed system never trusts it blindly.
 */
export function trustedRepoWarnings(p: Pick<ResolvedProfile, 'repos'>): string[] {
  return (p.repos ?? [])
    .filter((r) => r.trusted && r.key === undefined)
    .map(
      (r) =>
        `repo "${r.name}" (${r.url}) has trusted: true: its packages are installed WITHOUT any signature check; the image keeps its source without "Trusted: yes", so apt on the node refuses it until it is signed. Give the repo a key instead.`,
    );
}

/**
 * Extra apt repositories. The engine writes their sources and keys and installs their packages;
 * this module checks, before anything runs, that every repo that installs packages is signed.
 */
export const reposModule: ConfigModule = {
  name: NAME,
  plan: () => [],
  validate(p) {
    const issues: Issue[] = [];
    (p.repos ?? []).forEach((r, i) => {
      if (r.key === undefined && !r.trusted && r.packages.length > 0)
        issues.push({
          path: `repos[${i}].key`,
          message: `repo "${r.name}" installs packages but has no key; give key: "./keys/${r.name}.asc" (the repo's signing key, relative to the profile), or trusted: true to skip signature checks`,
        });
      for (const problem of aptSourceProblems(repoSource(r)))
        issues.push({
          path: `repos[${i}].${SOURCE_FIELD[problem.field] ?? problem.field}`,
          message: problem.message,
        });
      if (r.key !== undefined && r.trusted)
        issues.push({
          path: `repos[${i}].trusted`,
          message: `repo "${r.name}" has a key and trusted: true; keep one`,
        });
      if (typeof r.key === 'string' && isUrl(r.key))
        issues.push({
          path: `repos[${i}].key`,
          message: `a key URL needs its pinned fingerprint: key: { url: "${r.key}", fingerprint: "<40 hex digits>" }`,
        });
      else if (typeof r.key === 'string' && !(existsSync(r.key) && statSync(r.key).isFile())) {
        const readme = path.join(path.dirname(r.key), 'README.md');
        const how = existsSync(readme) ? `see ${readme}` : `put the repo's ASCII-armored signing key there`;
        issues.push({ path: `repos[${i}].key`, message: `key file ${r.key} not found; ${how}` });
      }
    });
    return issues;
  },
};
