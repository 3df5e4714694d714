import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validSigners } from '../../../src/keys/gpg.ts';
import {
  comparePinned,
  formatFingerprint,
  isArmored,
  keyFileProblem,
  normalizeFingerprint,
  parseColonListing,
} from '../../../src/keys/openpgp.ts';

const FOCAL_2012 = '790BC7277767219C42C86F933B4FE6ACC0B21F32';
const FOCAL_2018 = 'F6ECB3762474EDA9D21B7022871920D1991BC93C';
const CDIMAGE = '843938DF228D22F7B3742BC0D94AA3F0EFE21092';

/** What `gpg --with-colons --show-keys` prints for Ubuntu's ubuntu-archive-keyring.gpg (abridged). */
const UBUNTU_LISTING = [
  'pub:-:4096:1:3B4FE6ACC0B21F32:1336770936:::-:::scSC::::::23::0:',
  `fpr:::::::::${FOCAL_2012}:`,
  'uid:-::::1336770936::B7A0::Ubuntu Archive Automatic Signing Key (2012) <ftpmaster@ubuntu.com>::::::::::0:',
  'pub:-:4096:1:D94AA3F0EFE21092:1336774248:::-:::scSC::::::23::0:',
  `fpr:::::::::${CDIMAGE}:`,
  'uid:-::::1336774248::7735::Ubuntu CD Image Automatic Signing Key (2012) <cdimage@ubuntu.com>::::::::::0:',
  'pub:-:4096:1:871920D1991BC93C:1537196506:::-:::scSC::::::23::0:',
  `fpr:::::::::${FOCAL_2018}:`,
  'uid:-::::1537196506::BE43::Ubuntu Archive Automatic Signing Key (2018) <ftpmaster@ubuntu.com>::::::::::0:',
  '',
].join('\n');

test('fingerprints: 40 hex digits, spaces anywhere, normalised to upper case; anything else is not one', () => {
  assert.is(normalizeFingerprint('790B C727 7767 219C 42C8  6F93 3B4F E6AC C0B2 1F32'), FOCAL_2012);
  assert.is(normalizeFingerprint(FOCAL_2012.toLowerCase()), FOCAL_2012);
  assert.is(normalizeFingerprint(FOCAL_2012.slice(0, 39)), undefined, '39 digits');
  assert.is(normalizeFingerprint(`${FOCAL_2012}0`), undefined, '41 digits');
  assert.is(normalizeFingerprint(`0x${FOCAL_2012.slice(2)}`), undefined, 'a 0x prefix is not hex');
  assert.is(normalizeFingerprint('3B4FE6ACC0B21F32'), undefined, 'a long key id is not a fingerprint');
  assert.is(normalizeFingerprint(`${FOCAL_2012.slice(0, 20)}\n${FOCAL_2012.slice(20)}`), undefined);
  assert.is(formatFingerprint(FOCAL_2012), '790B C727 7767 219C 42C8 6F93 3B4F E6AC C0B2 1F32');
});

test('colon listing: one entry per primary key with its own fingerprint, not a subkey one', () => {
  const keys = parseColonListing(UBUNTU_LISTING);
  assert.equal(
    keys.map((k) => [k.kind, k.fingerprint]),
    [
      ['pub', FOCAL_2012],
      ['pub', CDIMAGE],
      ['pub', FOCAL_2018],
    ],
  );
  assert.match(keys[0]!.uids[0]!, /Automatic Signing Key \(2012\)/);
  const withSub = parseColonListing(
    [
      'pub:-:255:22:AAAAAAAAAAAAAAAA:1:::-:::scESC:',
      `fpr:::::::::${'A'.repeat(40)}:`,
      'uid:-::::1::X::repo key <r@x.invalid>\\x3a one:',
      'sub:-:255:18:BBBBBBBBBBBBBBBB:1::::::e:',
      `fpr:::::::::${'B'.repeat(40)}:`,
    ].join('\n'),
  );
  assert.equal(
    withSub.map((k) => k.fingerprint),
    ['A'.repeat(40)],
  );
  assert.is(withSub[0]!.uids[0], 'repo key <r@x.invalid>: one');
  assert.equal(parseColonListing(''), [], 'gpg found nothing');
  assert.is(
    parseColonListing(`sec:u:255:22:AB:1:::u:::scESC:\nfpr:::::::::${'C'.repeat(40)}:\n`)[0]!.kind,
    'sec',
  );
});

test('key file decisions: no key, a secret key, another fingerprint are refused by name, never by content', () => {
  const ubuntu = parseColonListing(UBUNTU_LISTING);
  assert.is(keyFileProblem(ubuntu, '/k/u.gpg'), undefined, 'public keys, nothing pinned');
  assert.is(keyFileProblem(ubuntu, '/k/u.gpg', FOCAL_2018), undefined, 'the pinned key is among them');
  assert.is(
    keyFileProblem([], '/etc/shadow'),
    '/etc/shadow is not an OpenPGP public key (gpg found no key in it)',
  );
  const sec = parseColonListing(`sec:u:255:22:AB:1:::u:::scESC:\nfpr:::::::::${'C'.repeat(40)}:\n`);
  assert.match(keyFileProblem(sec, '/k/s.asc')!, /^\/k\/s.asc holds a SECRET key; give the public key only/);
  const other = keyFileProblem(
    parseColonListing(UBUNTU_LISTING.split('pub:').slice(0, 2).join('pub:')),
    'http://h/k.asc',
    FOCAL_2018,
  );
  assert.is(
    other,
    'http://h/k.asc has fingerprint 790B C727 7767 219C 42C8 6F93 3B4F E6AC C0B2 1F32, expected F6EC B376 2474 EDA9 D21B 7022 8719 20D1 991B C93C',
  );
});

test('pinned keys: which are missing, which others a keyring holds', () => {
  const ubuntu = parseColonListing(UBUNTU_LISTING);
  assert.equal(comparePinned(ubuntu, [FOCAL_2012, FOCAL_2018]), { missing: [], others: [CDIMAGE] });
  assert.equal(comparePinned([], [FOCAL_2012]), { missing: [FOCAL_2012], others: [] });
});

test('armor is told from binary by its header', () => {
  assert.ok(isArmored(Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n')));
  assert.not.ok(isArmored(Buffer.from([0x99, 0x02, 0x0d])));
});

test('gpgv status: the primary fingerprints of valid signatures only', () => {
  const status = [
    '[GNUPG:] NEWSIG',
    '[GNUPG:] GOODSIG 3B4FE6ACC0B21F32 Ubuntu Archive Automatic Signing Key (2012) <ftpmaster@ubuntu.com>',
    `[GNUPG:] VALIDSIG ${FOCAL_2012} 2020-04-23 1587663197 0 4 0 1 10 01 ${FOCAL_2012}`,
    '[GNUPG:] NEWSIG',
    '[GNUPG:] BADSIG 871920D1991BC93C Ubuntu Archive Automatic Signing Key (2018)',
    '[GNUPG:] ERRSIG 0000000000000000 1 10 01 1587663197 9 -',
  ].join('\n');
  assert.equal(validSigners(status), [FOCAL_2012]);
  assert.equal(validSigners('[GNUPG:] NO_PUBKEY 3B4FE6ACC0B21F32\n'), []);
});

test.run();
