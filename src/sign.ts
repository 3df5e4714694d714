import { realProbe } from './doctor.ts';
import { UserError } from './errors.ts';
import type { Runner } from './run/runner.ts';

/**
 * Detached, ASCII-armored OpenPGP signatures of the images (`build --sign-key KEYID`), made by
 * gpg with the caller's keyring (GNUPGHOME from the environment). Verify with
 * `gpg --verify <image>.asc <image>`.
 */

/** `<file>.asc` beside a file. */
export const signatureOf = (file: string): string => `${file}.asc`;

export function gpgSignArgv(keyId: string, file: string, out: string): string[] {
  return [
    'gpg',
    '--batch',
    '--yes',
    '--local-user',
    keyId,
    '--armor',
    '--detach-sign',
    '--output',
    out,
    '--',
    file,
  ];
}

/** Fails before any work when gpg is missing or holds no secret key for `keyId`. */
export async function checkSigningKey(runner: Runner, keyId: string): Promise<void> {
  const where = process.env.GNUPGHOME
    ? `GNUPGHOME=${process.env.GNUPGHOME}`
    : 'the default keyring (~/.gnupg)';
  if (!realProbe.which('gpg'))
    throw new UserError(
      'Could not find gpg, which is required to sign images (--sign-key)',
      'install it with: apt-get install gnupg',
    );
  try {
    await runner.run(['gpg', '--batch', '--list-secret-keys', '--with-colons', '--', keyId]);
  } catch {
    throw new UserError(
      `--sign-key ${keyId}: gpg has no secret key for it in ${where}`,
      'list the usable keys with `gpg --list-secret-keys`; set GNUPGHOME when the key lives in another keyring',
    );
  }
}

/** Sign a finished file (still under its aside name) into `out` (default `<file>.asc`). */
export async function signFile(
  runner: Runner,
  file: string,
  keyId: string,
  out = signatureOf(file),
): Promise<string> {
  await runner.run(gpgSignArgv(keyId, file, out), {
    context: `signing ${file} with key ${keyId}`,
  });
  return out;
}
