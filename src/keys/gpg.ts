/**
 * gpg and gpgv through the runner, each call in a throwaway GNUPGHOME so the caller's keyrings
 * are neither read nor changed. Decisions on what they print live in ./openpgp.ts.
 */
import path from 'node:path';
import { withDir } from 'tmp-promise';
import type { Runner } from '../run/runner.ts';
import { type ListedKey, parseColonListing } from './openpgp.ts';

/** A private GNUPGHOME (mode 0700 under the temporary folder), removed with all in it after `fn`. */
const withGnupgHome = <T>(fn: (home: string) => Promise<T>): Promise<T> =>
  withDir(({ path: home }) => fn(home), { prefix: 'ib-native-gnupg-', unsafeCleanup: true });

const gpg = (home: string) => ['gpg', '--batch', '--no-tty', '--homedir', home];

/** The keys a file holds (`gpg --show-keys`); none when it is not OpenPGP data. */
export function listKeys(runner: Runner, file: string): Promise<ListedKey[]> {
  return withGnupgHome(async (home) => {
    const r = await runner.run([...gpg(home), '--with-colons', '--show-keys', '--', path.resolve(file)], {
      okExitCodes: [0, 2],
      context: `reading the OpenPGP keys in ${file}`,
    });
    return parseColonListing(r.stdout);
  });
}

/** Only the primary keys `fingerprints` (with their subkeys) of `keyring`, as a binary keyring. */
export function exportKeys(
  runner: Runner,
  keyring: string,
  fingerprints: readonly string[],
): Promise<Buffer> {
  return withGnupgHome(async (home) => {
    await runner.run([...gpg(home), '--import', '--', path.resolve(keyring)], {
      context: `importing ${keyring} into a throwaway keyring`,
    });
    const r = await runner.run([...gpg(home), '--export', '--', ...fingerprints], {
      binary: true,
      context: 'exporting the pinned keys',
    });
    return r.stdoutBytes ?? Buffer.alloc(0);
  });
}

/**
 * Verify a clear-signed file (an InRelease) with `keyring` only; the signed text goes to `out`.
 * Returns the primary fingerprints of the valid signatures (gpgv's VALIDSIG status lines) and,
 * when it failed, gpgv's reason.
 */
export async function verifyClearSigned(
  runner: Runner,
  keyring: string,
  signed: string,
  out: string,
): Promise<{ signers: string[]; error?: string }> {
  const r = await runner.run(
    ['gpgv', '--status-fd', '1', '--keyring', path.resolve(keyring), '--output', out, '--', signed],
    { okExitCodes: [0, 1, 2], context: `verifying ${path.basename(signed)}` },
  );
  const signers = validSigners(r.stdout);
  if (r.exitCode !== 0 || signers.length === 0)
    return {
      signers,
      error: r.stderr.trim().split('\n').slice(-3).join('; ') || `gpgv exit code ${r.exitCode}`,
    };
  return { signers };
}

/** Primary key fingerprints of `[GNUPG:] VALIDSIG` status lines (the last field). Pure. */
export function validSigners(status: string): string[] {
  const out: string[] = [];
  for (const line of status.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '[GNUPG:]' && f[1] === 'VALIDSIG') {
      const primary = f.at(-1)?.toUpperCase();
      if (primary && /^[0-9A-F]{40}$/.test(primary)) out.push(primary);
    }
  }
  return out;
}
