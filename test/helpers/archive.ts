/** Whether a release's archive answers now: tests of that release are skipped (with this reason) when not. */
import path from 'node:path';
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

/**
 * Runs a shared integration suite (a module that registers uvu tests and runs them) on ubuntu-focal,
 * in `<scratch>/focal`, or reports it as skipped with the reason when focal's archive does not answer.
 * The helpers read IB_NATIVE_TEST_DISTRO and IB_NATIVE_TEST_SCRATCH when first imported, so the suite
 * module is imported only after they are set.
 */
export async function onFocal(name: string, suite: () => Promise<unknown>): Promise<void> {
  const { getDistro } = await import('../../src/distro/index.ts');
  const problem = await archiveProblem(getDistro('ubuntu-focal'));
  if (problem) {
    const { test } = await import('uvu');
    process.stdout.write(`SKIPPED ${name}: ${problem}\n`);
    test.skip(`${name} on ubuntu-focal (skipped: ${problem})`, () => undefined);
    test.run();
    return;
  }
  process.env.IB_NATIVE_TEST_DISTRO = 'ubuntu-focal';
  const scratch = process.env.IB_NATIVE_TEST_SCRATCH ?? '/var/tmp/ib-native-test';
  process.env.IB_NATIVE_TEST_SCRATCH = path.join(scratch, 'focal');
  await suite();
}
