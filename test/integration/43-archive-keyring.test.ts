/**
 * Issue 10, the Ubuntu archive keyring without a manual step. On a host without it (forced here,
 * whatever this host has, by pointing IB_NATIVE_HOST_KEYRING_DIR at an empty folder), `ib-native
 * doctor` obtains it from the real Ubuntu archive's ubuntu-keyring package into a fresh cache,
 * holding exactly the two pinned archive signing keys (not the cdimage key). A fake archive on
 * 127.0.0.1 is refused by the build's input checks, with exit 5 and nothing written to the cache:
 * one whose ubuntu-keyring holds a key made here, and one serving the real ubuntu-keyring .deb
 * under an InRelease signed by a key made here.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ubuntuFocal } from '../../src/distro/ubuntu.ts';
import {
  buildFakeDeb,
  ensureSigningKey,
  indexAndSign,
  type ServedRepo,
  serveRepo,
  stopGpgAgent,
} from '../helpers/apt-repo.ts';
import { treeListing } from '../helpers/bad-input.ts';
import { cli, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('archive-keyring');
const GNUPG = path.join(DIR, 'gnupg');
const NO_HOST_KEYRINGS = path.join(DIR, 'no-host-keyrings');
const REAL_DEB = 'pool/main/u/ubuntu-keyring/ubuntu-keyring_2020.02.11.2_all.deb';
const served: ServedRepo[] = [];
let fpr = '';

const run = (cache: string, args: string[]) =>
  cli(args, { cache, timeoutMs: 300_000, env: { IB_NATIVE_HOST_KEYRING_DIR: NO_HOST_KEYRINGS } });

async function fingerprints(keyring: string): Promise<string[]> {
  const home = path.join(DIR, `list-${Date.now()}`);
  mkdirSync(home, { mode: 0o700 });
  const r = await execa('gpg', ['--batch', '--homedir', home, '--with-colons', '--show-keys', keyring]);
  rmSync(home, { recursive: true, force: true });
  // the primary key's fpr record follows its pub record
  return r.stdout
    .split('\n')
    .filter((l, i, all) => l.startsWith('fpr:') && all[i - 1]?.startsWith('pub:'))
    .map((l) => l.split(':')[9]!)
    .sort();
}

/** A fake Ubuntu archive (suite focal, main) of these .debs, indexed and signed with the test key. */
async function fakeArchive(name: string, addDebs: (root: string) => Promise<void>): Promise<string> {
  const root = path.join(DIR, name);
  await addDebs(root);
  await indexAndSign({ root, suite: 'focal', component: 'main' }, GNUPG, fpr);
  const s = await serveRepo(root);
  served.push(s);
  return s.url.replace(/\/$/, '');
}

test.before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(NO_HOST_KEYRINGS, { recursive: true });
  fpr = await ensureSigningKey(GNUPG, 'ib-native fake archive <archive@ib-native.invalid>');
});

test.after(async () => {
  for (const s of served) await s.close();
  await stopGpgAgent(GNUPG);
});

test('doctor obtains the keyring from the real archive: exactly the two pinned keys, in the cache', async () => {
  const cache = path.join(DIR, 'cache-real');
  const started = Date.now();
  const r = await run(cache, ['doctor']);
  const seconds = (Date.now() - started) / 1000;
  const kept = path.join(cache, 'keyrings', 'ubuntu-archive-keyring.gpg');
  assert.match(
    r.stdout,
    new RegExp(
      `ubuntu-focal\\s+${kept.replace(/[.]/g, '\\.')} \\(from the archive's ubuntu-keyring, pinned keys only\\)`,
    ),
    r.all.slice(-2000),
  );
  assert.equal(await fingerprints(kept), [...ubuntuFocal.archiveKeyring!.fingerprints].sort());
  assert.equal(
    readdirSync(path.join(cache, 'keyrings')),
    ['ubuntu-archive-keyring.gpg'],
    'no partial file left',
  );
  process.stderr.write(`  doctor with the keyring fetched: ${seconds.toFixed(1)} s\n`);
});

async function refusedBuild(mirror: string, names: RegExp): Promise<void> {
  const cache = path.join(DIR, `cache-${served.length}`);
  const out = path.join(DIR, `out-${served.length}`);
  mkdirSync(path.join(cache, 'logs'), { recursive: true });
  mkdirSync(out, { recursive: true });
  const before = { cache: treeListing(cache), out: treeListing(out) };
  const r = await run(cache, [
    'build',
    '--profile',
    'minimal',
    '--distro',
    'ubuntu-focal',
    '--mirror',
    mirror,
    '--output',
    out,
  ]);
  assert.is(r.exitCode, 5, r.all.slice(-2000));
  assert.match(r.stderr, names, r.stderr);
  assert.match(r.stderr, /^hint: .*--mirror/m);
  assert.equal(treeListing(cache), before.cache, 'nothing written to the cache');
  assert.equal(treeListing(out), before.out, 'nothing written to the output folder');
}

test('a keyring package holding another key is refused', async () => {
  const exported = await execa('gpg', ['--batch', '--export', fpr], {
    env: { GNUPGHOME: GNUPG },
    encoding: 'buffer',
  });
  const mirror = await fakeArchive('tampered-keys', async (root) => {
    await buildFakeDeb(
      {
        name: 'ubuntu-keyring',
        version: '2099.01.01',
        description: 'not the Ubuntu keyring',
        files: {
          'usr/share/keyrings/ubuntu-archive-keyring.gpg': {
            content: Buffer.from(exported.stdout),
            mode: 0o644,
          },
        },
      },
      path.join(DIR, 'debwork'),
      path.join(root, 'pool'),
    );
  });
  await refusedBuild(
    mirror,
    /the ubuntu-focal archive keyring from http:\/\/127\.0\.0\.1:\d+ is refused: \/usr\/share\/keyrings\/ubuntu-archive-keyring\.gpg of ubuntu-keyring_2099\.01\.01_amd64\.deb: it lacks the pinned archive signing keys 790B C727 .*, F6EC B376 .* \(it holds /,
  );
});

test('the real keyring package under an InRelease signed by another key is refused', async () => {
  const mirror = await fakeArchive('tampered-signature', async (root) => {
    const dest = path.join(root, REAL_DEB);
    mkdirSync(path.dirname(dest), { recursive: true });
    await execa('curl', [
      '--fail',
      '--silent',
      '--show-error',
      '--output',
      dest,
      `${ubuntuFocal.mirror}/${REAL_DEB}`,
    ]);
  });
  await refusedBuild(mirror, /is refused: dists\/focal\/InRelease is not signed by the pinned keys/);
});

test.run();
