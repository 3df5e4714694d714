import { UserError } from '../errors.ts';
import type { Distro } from './types.ts';

/** Where a build's suites come from, as the profile and the command line set them. */
export interface MirrorChoice {
  /** The main archive: the release suite and, unless mapped, every other suite. */
  mirror?: string;
  /** Per suite (an updates or the security suite of the distro) -> URL. */
  mirrors?: Readonly<Record<string, string>>;
}

export const trimSlashes = (u: string): string => u.replace(/\/+$/, '');

/** The grammar of an archive URL (apt source line, bootstrapper argv): one line, no spaces or quotes. */
export const MIRROR_URL = /^(https?|file):\/\/[^\s"'\\]+$/;
/** A suite name as apt and the archives spell it (focal-security). */
export const SUITE_NAME = /^[a-z0-9][a-z0-9.-]*$/;

/** What is wrong with a mirror URL, or undefined (shared by the profile schema and the flags). */
export function mirrorUrlProblem(value: string): string | undefined {
  if (!MIRROR_URL.test(value)) return 'is not a http, https, file URL (one line, without spaces or quotes)';
  try {
    new URL(value);
  } catch {
    return 'is not a valid http, https, file URL';
  }
  return undefined;
}

/** `--suite-mirror SUITE=URL` values as a map (pure); a bad value is a UserError naming it. */
export function parseSuiteMirrors(values: readonly string[] = []): Record<string, string> | undefined {
  if (!values.length) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const suite = eq > 0 ? v.slice(0, eq) : '';
    const url = v.slice(eq + 1);
    const problem = !SUITE_NAME.test(suite)
      ? 'is not SUITE=URL with a suite name such as focal-security'
      : mirrorUrlProblem(url);
    if (problem)
      throw new UserError(
        `--suite-mirror "${v}" ${problem}`,
        'for example --suite-mirror focal-security=http://mirror.site/ubuntu (repeat it for each suite)',
      );
    out[suite] = url;
  }
  return out;
}

/**
 * The distro bootstrapped from another main archive (a --mirror-fallback that worked): the
 * suites that followed the main archive follow it there; suites mapped elsewhere stay.
 */
export function withMainMirror(d: Distro, url: string): Distro {
  if (url === d.mirror) return d;
  if (!d.mirrors) return { ...d, mirror: url };
  const mirrors = Object.fromEntries(
    Object.entries(d.mirrors).map(([s, u]) => [s, u === d.mirror ? url : u]),
  );
  return { ...d, mirror: url, mirrors };
}

/** The URL each suite of the distro comes from, release suite first, security last (pure). */
export function suiteUrls(d: Distro): { suite: string; url: string }[] {
  return [
    { suite: d.suite, url: d.mirror },
    ...d.updatesSuites.map((suite) => ({ suite, url: d.mirrors?.[suite] ?? d.mirror })),
    { suite: d.security.suite, url: d.mirrors?.[d.security.suite] ?? d.security.mirror },
  ];
}
