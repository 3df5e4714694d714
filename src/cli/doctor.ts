import { defaultCacheDir } from '../cache/store.ts';
import { DISTROS } from '../distro/index.ts';
import { checkHost, formatDoctorReport } from '../doctor.ts';
import { EXIT, hintOf } from '../errors.ts';
import { ensureArchiveKeyring, hostKeyringPath, keyringsDir } from '../keys/archive-keyring.ts';
import { silentLogger } from '../log.ts';
import { netEnv } from '../proxy.ts';
import { processRunner } from '../run/runner.ts';

/** `ib-native doctor`: the host's tools and each distro's archive keyring; returns the exit code. */
export async function doctorCommand(cacheDir = defaultCacheDir()): Promise<number> {
  const report = checkHost({ boot: true, inspect: true, dir: '/var/cache' });
  process.stdout.write(formatDoctorReport(report));
  process.stdout.write(await archiveKeyringReport(cacheDir));
  return report.missingRequired.length ? EXIT.hostNotReady : EXIT.ok;
}

/**
 * Each distro's archive keyring: the host's, or obtained now from the archive (pinned keys, see
 * src/keys/archive-keyring.ts) into the cache. A keyring that cannot be obtained is reported, not
 * fatal: only builds of that distro need it.
 */
async function archiveKeyringReport(cacheDir: string): Promise<string> {
  const runner = processRunner({ logger: silentLogger });
  const lines = ['', 'archive keyrings:'];
  for (const d of Object.values(DISTROS)) {
    let where: string;
    try {
      const k = await ensureArchiveKeyring(d, { runner, dir: keyringsDir(cacheDir), env: netEnv({}) });
      where =
        k === hostKeyringPath(d)
          ? `${k} (host)`
          : `${k} (from the archive's ${d.archiveKeyring?.package}, pinned keys only)`;
    } catch (e) {
      where = `MISSING (needed to build ${d.name}): ${(e as Error).message}${hintOf(e) ? `; ${hintOf(e)}` : ''}`;
    }
    lines.push(`  ${d.name.padEnd(16)} ${where}`);
  }
  return `${lines.join('\n')}\n`;
}
