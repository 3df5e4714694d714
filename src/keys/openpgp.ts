/**
 * OpenPGP keys, the pure parts: fingerprints as users write them, gpg's `--with-colons` listing,
 * and the decision whether a listed key file is the public key a field pins. No process, no file.
 */

/** A fingerprint as written in a profile: 40 hex digits, spaces anywhere. */
export const FINGERPRINT_RE = /^[0-9A-Fa-f ]+$/;

/** "790B C727 ... 1F32" -> "790BC727...1F32"; undefined when it is not 40 hex digits. */
export function normalizeFingerprint(text: string): string | undefined {
  if (!FINGERPRINT_RE.test(text)) return undefined;
  const hex = text.replace(/ /g, '').toUpperCase();
  return hex.length === 40 ? hex : undefined;
}

/** Groups of four, as gpg prints fingerprints for people. */
export function formatFingerprint(fpr: string): string {
  return fpr.replace(/(.{4})(?=.)/g, '$1 ');
}

export interface ListedKey {
  /** `pub`: a public key; `sec`: a secret key. */
  kind: 'pub' | 'sec';
  /** Primary key fingerprint, upper case. */
  fingerprint: string;
  /** Key validity field (`r` revoked, `e` expired, ...). */
  validity: string;
  uids: string[];
}

/**
 * Parse `gpg --with-colons --show-keys` (or `--list-keys`) output: one entry per primary key, its
 * fingerprint the first `fpr` record after the `pub`/`sec` record (later ones belong to subkeys).
 */
export function parseColonListing(text: string): ListedKey[] {
  const keys: ListedKey[] = [];
  let current: ListedKey | undefined;
  let wantFpr = false;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const type = f[0];
    if (type === 'pub' || type === 'sec') {
      current = { kind: type, fingerprint: '', validity: f[1] ?? '', uids: [] };
      keys.push(current);
      wantFpr = true;
    } else if (type === 'sub' || type === 'ssb') wantFpr = false;
    else if (type === 'fpr' && current && wantFpr) {
      current.fingerprint = (f[9] ?? '').toUpperCase();
      wantFpr = false;
    } else if (type === 'uid' && current) current.uids.push(unescapeColons(f[9] ?? ''));
  }
  return keys.filter((k) => /^[0-9A-F]{40}$/.test(k.fingerprint));
}

/** gpg escapes ':' and control characters in user ids as \xNN. */
function unescapeColons(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/**
 * Why a key file cannot sign a repo, or undefined when it can: it must hold public keys only,
 * at least one, and when a fingerprint is pinned, that key must be among its primary keys.
 * `what` names the file or URL for the message (never its content).
 */
export function keyFileProblem(
  listed: readonly ListedKey[],
  what: string,
  pinned?: string,
): string | undefined {
  if (listed.length === 0) return `${what} is not an OpenPGP public key (gpg found no key in it)`;
  if (listed.some((k) => k.kind === 'sec'))
    return `${what} holds a SECRET key; give the public key only (gpg --armor --export KEYID)`;
  if (pinned !== undefined && !listed.some((k) => k.fingerprint === pinned))
    return `${what} has fingerprint ${listed.map((k) => formatFingerprint(k.fingerprint)).join(', ')}, expected ${formatFingerprint(pinned)}`;
  return undefined;
}

/**
 * Which of `pinned` a keyring lacks and which other keys it holds (the Ubuntu archive keyring
 * package also carries the cdimage key, which is left out). Pure.
 */
export function comparePinned(
  listed: readonly ListedKey[],
  pinned: readonly string[],
): { missing: string[]; others: string[] } {
  const have = new Set(listed.filter((k) => k.kind === 'pub').map((k) => k.fingerprint));
  return {
    missing: pinned.filter((p) => !have.has(p)),
    others: [...have].filter((f) => !pinned.includes(f)),
  };
}

/** True when the bytes look like an ASCII-armored block (else binary OpenPGP, or not a key). */
export function isArmored(bytes: Buffer): boolean {
  return bytes.subarray(0, 4096).toString('latin1').includes('-----BEGIN PGP PUBLIC KEY BLOCK-----');
}
