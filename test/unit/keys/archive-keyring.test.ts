import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../../src/distro/debian.ts';
import { ubuntuFocal } from '../../../src/distro/ubuntu.ts';
import { HostNotReadyError } from '../../../src/errors.ts';
import {
  cachedKeyringPath,
  ensureArchiveKeyring,
  findPackage,
  keyringProblem,
  parseStanzas,
  releaseSha256,
  safePoolPath,
} from '../../../src/keys/archive-keyring.ts';
import { parseColonListing } from '../../../src/keys/openpgp.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import { sha256Text } from '../../../src/sys/files.ts';

const [K2012, K2018] = ubuntuFocal.archiveKeyring!.fingerprints as [string, string];
const OTHER = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';
const listing = (...fprs: string[]) =>
  fprs.map((f) => `pub:-:4096:1:${f.slice(-16)}:1:::-:::scSC:\nfpr:::::::::${f}:\n`).join('');

const PACKAGES = `Package: ubuntu-advantage-tools
Version: 20.3
Filename: pool/main/u/ubuntu-advantage-tools/ubuntu-advantage-tools_20.3_amd64.deb
SHA256: ${'1'.repeat(64)}

Package: ubuntu-keyring
Architecture: all
Version: 2020.02.11.2
Description: GnuPG keys of the Ubuntu archive
 The Ubuntu project digitally signs its Release files.
Filename: pool/main/u/ubuntu-keyring/ubuntu-keyring_2020.02.11.2_all.deb
Size: 16500
SHA256: ${'A'.repeat(64)}
`;

test('Packages stanzas: fields, continuation lines, the keyring package found', () => {
  const s = parseStanzas(PACKAGES);
  assert.is(s.length, 2);
  assert.is(
    s[1]!.Description,
    'GnuPG keys of the Ubuntu archive\nThe Ubuntu project digitally signs its Release files.',
  );
  assert.equal(findPackage(PACKAGES, 'ubuntu-keyring'), {
    version: '2020.02.11.2',
    filename: 'pool/main/u/ubuntu-keyring/ubuntu-keyring_2020.02.11.2_all.deb',
    sha256: 'a'.repeat(64),
    size: 16500,
  });
  assert.is(findPackage(PACKAGES, 'ubuntu-keyring-extra'), undefined);
  const two = `${PACKAGES}\nPackage: ubuntu-keyring\nVersion: 2020.02.11.10\nFilename: pool/main/u/ubuntu-keyring/new.deb\nSHA256: ${'b'.repeat(64)}\n`;
  assert.is(findPackage(two, 'ubuntu-keyring')!.version, '2020.02.11.10', 'the highest version');
});

test('Release: the SHA256 of one index file, not of a similarly named one', () => {
  const release = `Origin: Ubuntu\nSuite: focal\nMD5Sum:\n ${'0'.repeat(32)} 10 main/binary-amd64/Packages.gz\nSHA256:\n ${'c'.repeat(64)} 5826751 main/binary-amd64/Packages\n ${'d'.repeat(64)} 1274738 main/binary-amd64/Packages.gz\n ${'e'.repeat(64)} 1 main/binary-i386/Packages.gz\n`;
  assert.is(releaseSha256(release, 'main/binary-amd64/Packages.gz'), 'd'.repeat(64));
  assert.is(releaseSha256(release, 'main/binary-arm64/Packages.gz'), undefined);
});

test('a pool path from an index stays below the mirror', () => {
  assert.ok(safePoolPath('pool/main/u/ubuntu-keyring/ubuntu-keyring_2020.02.11.4_all.deb'));
  assert.not.ok(safePoolPath('pool/../../etc/passwd.deb'));
  assert.not.ok(safePoolPath('/pool/x.deb'));
  assert.not.ok(safePoolPath('http://evil/pool/x.deb'));
  assert.not.ok(safePoolPath('pool/x.tar'));
});

test('keyring package decision: every pinned key must be there; the others are named', () => {
  assert.is(keyringProblem(parseColonListing(listing(K2012, OTHER, K2018)), [K2012, K2018]), undefined);
  assert.is(
    keyringProblem(parseColonListing(listing(OTHER)), [K2012, K2018]),
    'it lacks the pinned archive signing keys 790B C727 7767 219C 42C8 6F93 3B4F E6AC C0B2 1F32, F6EC B376 2474 EDA9 D21B 7022 8719 20D1 991B C93C (it holds ABCD EF01 2345 6789 ABCD EF01 2345 6789 ABCD EF01)',
  );
  assert.match(
    keyringProblem([], [K2018])!,
    /lacks the pinned archive signing key F6EC.*\(it holds no usable key\)/,
  );
});

test('the descriptor pins the two Ubuntu archive signing keys (2012, 2018), not the cdimage key', () => {
  assert.equal(ubuntuFocal.archiveKeyring!.fingerprints, [
    '790BC7277767219C42C86F933B4FE6ACC0B21F32',
    'F6ECB3762474EDA9D21B7022871920D1991BC93C',
  ]);
  assert.is(ubuntuFocal.archiveKeyring!.package, 'ubuntu-keyring');
  assert.is(debianBookworm.archiveKeyring, undefined);
});

/**
 * A fake archive behind a recording runner: curl "downloads" from `files`, dpkg-deb unpacks a
 * keyring, gpg lists `keys` for any keyring (and the export), gpgv answers `gpgv`.
 */
function fakeArchive(o: {
  keys: string[];
  gpgv?: { exitCode: number; stdout: string };
  debBytes?: string;
  packagesSha?: string;
}) {
  const deb = o.debBytes ?? 'deb-bytes';
  const packages = gzipSync(
    PACKAGES.replace('A'.repeat(64), sha256Text(Buffer.from('deb-bytes'))).replace('Size: 16500', 'Size: 9'),
  );
  const release = `Suite: focal\nSHA256:\n ${o.packagesSha ?? sha256Text(packages)} ${packages.length} main/binary-amd64/Packages.gz\n`;
  const files: Record<string, Buffer> = {
    'dists/focal/InRelease': Buffer.from(`-----BEGIN PGP SIGNED MESSAGE-----\n\n${release}`),
    'dists/focal/main/binary-amd64/Packages.gz': packages,
    'pool/main/u/ubuntu-keyring/ubuntu-keyring_2020.02.11.2_all.deb': Buffer.from(deb),
  };
  const signers = `[GNUPG:] VALIDSIG ${K2012} x x x x x x x x ${K2012}\n[GNUPG:] VALIDSIG ${K2018} x ${K2018}\n`;
  return recordingRunner((argv) => {
    if (argv[0] === 'curl') {
      const url = argv.at(-1)!;
      const rel = url.replace(`${ubuntuFocal.mirror}/`, '');
      const content = files[rel];
      if (!content) return new Error(`404 ${url}`);
      writeFileSync(argv[argv.indexOf('--output') + 1]!, content);
      return {};
    }
    if (argv[0] === 'dpkg-deb') {
      const dest = path.join(argv[3]!, 'usr/share/keyrings');
      mkdirSync(dest, { recursive: true });
      writeFileSync(path.join(dest, 'ubuntu-archive-keyring.gpg'), 'keyring');
      return {};
    }
    if (argv.includes('--show-keys')) {
      // the exported keyring holds what was asked for; the package's what `keys` says
      const exported = argv.at(-1)!.endsWith('pinned.gpg');
      return { stdout: listing(...(exported ? [K2012, K2018] : o.keys)) };
    }
    if (argv.includes('--export')) return { stdoutBytes: Buffer.from('pinned-keys') };
    if (argv[0] === 'gpgv') {
      writeFileSync(argv[argv.indexOf('--output') + 1]!, release);
      return o.gpgv ?? { exitCode: 0, stdout: signers };
    }
    return {};
  });
}

const cacheDir = () => mkdtempSync(path.join(tmpdir(), 'ibn-keyring-'));
const fetchCtx = (runner: ReturnType<typeof fakeArchive>, dir: string) => ({
  runner,
  dir,
  hostKeyring: path.join(dir, 'no-such-host-keyring.gpg'),
});

test('a host keyring is used as it is; a distro without a keyring package names the hint', async () => {
  const dir = cacheDir();
  const host = path.join(dir, 'host.gpg');
  writeFileSync(host, 'x');
  const runner = fakeArchive({ keys: [] });
  assert.is(await ensureArchiveKeyring(ubuntuFocal, { runner, dir, hostKeyring: host }), host);
  assert.equal(runner.calls, [], 'nothing downloaded, nothing run');
  try {
    await ensureArchiveKeyring(debianBookworm, { runner, dir, hostKeyring: path.join(dir, 'none.gpg') });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, HostNotReadyError);
    assert.match((e as Error).message, /debian-bookworm archive keyring is missing/);
    assert.is((e as HostNotReadyError).hint, debianBookworm.keyringHint);
  }
});

test('fetched from the archive: only the pinned keys, written to the cache, the loop closed', async () => {
  const dir = cacheDir();
  const runner = fakeArchive({ keys: [K2012, OTHER, K2018] });
  const got = await ensureArchiveKeyring(ubuntuFocal, fetchCtx(runner, dir));
  assert.is(got, cachedKeyringPath(dir, ubuntuFocal));
  assert.is(path.basename(got), 'ubuntu-archive-keyring.gpg');
  const exported = runner.calls.find((c) => c.includes('--export'))!;
  assert.equal(
    exported.slice(exported.indexOf('--') + 1),
    [K2012, K2018],
    'the cdimage/other key is left out',
  );
  assert.ok(
    runner.calls.some((c) => c[0] === 'gpgv'),
    'the InRelease was verified',
  );
  // reused: only a listing of the cached keyring, no download
  const again = fakeArchive({ keys: [K2012, K2018] });
  assert.is(await ensureArchiveKeyring(ubuntuFocal, fetchCtx(again, dir)), got);
  assert.not.ok(again.calls.some((c) => c[0] === 'curl'));
});

async function refused(o: Parameters<typeof fakeArchive>[0]): Promise<string> {
  const dir = cacheDir();
  try {
    await ensureArchiveKeyring(ubuntuFocal, fetchCtx(fakeArchive(o), dir));
  } catch (e) {
    assert.instance(e, HostNotReadyError);
    assert.not.ok(existsSync(cachedKeyringPath(dir, ubuntuFocal)), 'nothing written on refusal');
    assert.match((e as HostNotReadyError).hint!, /--mirror/);
    return (e as Error).message;
  }
  assert.unreachable('was not refused');
  return '';
}

test('refused: a keyring without the pinned keys, a bad signature, a hash mismatch', async () => {
  assert.match(
    await refused({ keys: [OTHER] }),
    /keyring from http:\/\/archive.ubuntu.com\/ubuntu is refused: \/usr\/share\/keyrings\/ubuntu-archive-keyring.gpg of ubuntu-keyring_2020.02.11.2_all.deb: it lacks the pinned archive signing keys 790B/,
  );
  assert.match(await refused({ keys: [K2012] }), /lacks the pinned archive signing key F6EC/);
  assert.match(
    await refused({ keys: [K2012, K2018], gpgv: { exitCode: 1, stdout: '[GNUPG:] BADSIG x\n' } }),
    /dists\/focal\/InRelease is not signed by the pinned keys/,
  );
  assert.match(
    await refused({ keys: [K2012, K2018], packagesSha: 'f'.repeat(64) }),
    /main\/binary-amd64\/Packages.gz has SHA256 [0-9a-f]{64}, the signed InRelease says f{64}/,
  );
  assert.match(
    await refused({ keys: [K2012, K2018], debBytes: 'tampered' }),
    /ubuntu-keyring_2020.02.11.2_all.deb has SHA256 [0-9a-f]{64}, the signed index says/,
  );
});

test.run();
