import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { withDir } from 'tmp-promise';
import { UserError } from '../errors.ts';
import type { Runner } from '../run/runner.ts';

/**
 * A cloud-init NoCloud seed: an ISO 9660 volume labelled `cidata` holding user-data, meta-data and
 * optionally network-config and vendor-data.
 */

export const SEED_FILES = ['user-data', 'meta-data', 'network-config', 'vendor-data'] as const;

/** meta-data for a seed folder that has none: an instance-id derived from the user-data. */
export function defaultMetaData(userData: string): string {
  const id = createHash('sha256').update(userData).digest('hex').slice(0, 12);
  return `instance-id: iid-ib-native-${id}\n`;
}

/** Graft-point paths escape backslashes and '='. */
const graftPath = (p: string) => p.replace(/\\/g, '\\\\').replace(/=/g, '\\=');

/** The xorriso argv writing these files (name in the ISO -> file on the host) into a seed ISO. */
export function seedIsoArgs(outIso: string, files: readonly { name: string; path: string }[]): string[] {
  return [
    'xorriso',
    '-as',
    'mkisofs',
    '-quiet',
    '-output',
    outIso,
    '-volid',
    'cidata',
    '-joliet',
    '-rock',
    '-graft-points',
    ...files.map((f) => `${f.name}=${graftPath(f.path)}`),
  ];
}

/** Builds the seed ISO from seedDir (which is never written to); returns outIso. */
export async function buildSeedIso(runner: Runner, seedDir: string, outIso: string): Promise<string> {
  const dir = resolve(seedDir);
  const userData = join(dir, 'user-data');
  if (!existsSync(userData)) {
    throw new UserError(
      `the seed folder ${dir} has no user-data file`,
      'a NoCloud seed folder holds user-data (e.g. starting with #cloud-config), and optionally meta-data and network-config',
    );
  }
  const files = SEED_FILES.filter((f) => existsSync(join(dir, f))).map((name) => ({
    name,
    path: join(dir, name),
  }));
  const make = async (more: { name: string; path: string }[]) => {
    await rm(outIso, { force: true });
    await runner.run(seedIsoArgs(resolve(outIso), [...files, ...more]), {
      context: 'build the cloud-init seed ISO',
    });
  };
  if (files.some((f) => f.name === 'meta-data')) await make([]);
  // a generated meta-data, in a private folder removed once the ISO is made
  else
    await withDir(
      async ({ path: tmp }) => {
        const meta = join(tmp, 'meta-data');
        await writeFile(meta, defaultMetaData(readFileSync(userData, 'utf8')));
        await make([{ name: 'meta-data', path: meta }]);
      },
      { prefix: 'ib-native-seed-', unsafeCleanup: true },
    );
  return outIso;
}
