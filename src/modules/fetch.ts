import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'fetch';

/** Where downloads land for user scripts; finalize removes it. */
export const URL_RESOURCES_DIR = '/tmp/url_resources';

type FetchEntry = NonNullable<ResolvedProfile['fetch']>[number];

/** File name of a download: its `name`, or the last segment of the URL path. */
export function fetchFileName(entry: FetchEntry): string {
  if (entry.name !== undefined) return entry.name;
  const segments = new URL(entry.url).pathname.split('/');
  return decodeURIComponent(segments[segments.length - 1] ?? '');
}

function schemeOf(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

/** Resources downloaded (and checked against their sha256) into /tmp/url_resources for scripts to use. */
export const fetchModule: ConfigModule = {
  name: NAME,
  plan(p) {
    return (p.fetch ?? []).flatMap((f) =>
      ops(NAME, f.contexts, {
        kind: 'fetch',
        url: f.url,
        sha256: f.sha256,
        path: `${URL_RESOURCES_DIR}/${fetchFileName(f)}`,
      }),
    );
  },
  validate(p) {
    const issues: Issue[] = [];
    const seen = new Map<string, number>();
    (p.fetch ?? []).forEach((f, i) => {
      const scheme = schemeOf(f.url);
      if (scheme !== 'http:' && scheme !== 'https:')
        issues.push({
          path: `fetch[${i}].url`,
          message: `${scheme ?? 'this'} URLs are not fetched (it would read the build host as root); give an http:// or https:// URL`,
        });
      const file = fetchFileName(f);
      if (file === '' || file === '.' || file === '..' || /[/\0]/.test(file))
        issues.push({
          path: `fetch[${i}].name`,
          message: `"${file}" is not a usable file name; give name: "something.tar.gz"`,
        });
      const first = seen.get(file);
      if (first !== undefined)
        issues.push({
          path: `fetch[${i}].name`,
          message: `"${file}" is also the file name of fetch[${first}]; give one of them a name`,
        });
      else seen.set(file, i);
    });
    return issues;
  },
};
