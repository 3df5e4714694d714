/** Whether a release's archive answers now: tests of that release are skipped (with this reason) when not. */
import type { Distro } from '../../src/distro/index.ts';

/** Why the release's archive cannot be used now, or undefined when its InRelease downloads. */
export async function archiveProblem(d: Distro): Promise<string | undefined> {
  const url = `${d.mirror}/dists/${d.suite}/InRelease`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    const body = await r.text();
    if (!r.ok) return `${url} answered HTTP ${r.status}`;
    if (!body.includes('-----BEGIN PGP SIGNED MESSAGE-----')) return `${url} is not a signed InRelease`;
    return undefined;
  } catch (e) {
    return `${url} did not answer: ${(e as Error).message}`;
  }
}
