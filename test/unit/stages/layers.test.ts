import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../../src/log.ts';
import { processRunner, recordingRunner } from '../../../src/run/runner.ts';
import { pruneHidden } from '../../../src/stages/layers.ts';
import {
  foldersBelow,
  OPAQUE_XATTR,
  opaqueFoldersOf,
  opaqueInTar,
  opaqueTarArgv,
} from '../../../src/sys/opaque.ts';

function tree(dir: string, entries: Record<string, string | null | { link: string }>) {
  for (const [p, v] of Object.entries(entries)) {
    const at = path.join(dir, p);
    mkdirSync(v === null ? at : path.dirname(at), { recursive: true });
    if (typeof v === 'string') writeFileSync(at, v);
    else if (v !== null) symlinkSync(v.link, at);
  }
}

/** Two layer folders (earlier `common`, later `iso`) in a scratch folder removed afterwards. */
function withLayers(fn: (common: string, iso: string) => void): void {
  const d = mkdtempSync(path.join(tmpdir(), 'ib-native-layers-'));
  try {
    fn(path.join(d, 'common'), path.join(d, 'iso'));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

test('pruneHidden: what the later layer removes or replaces leaves the earlier layer; the rest stays', () =>
  withLayers((common, iso) => {
    tree(common, {
      'tmp/url_resources/agent.tar.gz': 'download',
      'var/lib/apt/lists/deb.example_Packages': 'index',
      'var/lib/apt/lists/lock': '',
      'etc/apt/trusted.gpg.d/site.gpg': 'key',
      'etc/motd': 'common motd',
      'etc/keep': 'kept',
      'opt/dir/x': 'x',
      'srv/file': 'file',
    });
    // the iso layer: files where removals are (whiteouts are non-folders just the same),
    // a replaced file, a link over a folder, a folder over a file, and a new file
    tree(iso, {
      'tmp/url_resources': 'whiteout',
      'var/lib/apt/lists/deb.example_Packages': 'whiteout',
      'etc/apt/trusted.gpg.d/site.gpg': 'whiteout',
      'etc/motd': 'iso motd',
      'opt/dir': { link: '/elsewhere' },
      'srv/file/inner': 'x',
      'etc/new': 'new',
    });
    const removed = pruneHidden(common, iso);
    assert.equal(removed, [
      '/etc/apt/trusted.gpg.d/site.gpg',
      '/etc/motd',
      '/opt/dir',
      '/srv/file',
      '/tmp/url_resources',
      '/var/lib/apt/lists/deb.example_Packages',
    ]);
    assert.ok(existsSync(path.join(common, 'etc/keep')));
    assert.equal(readdirSync(path.join(common, 'var/lib/apt/lists')), ['lock']);
    assert.equal(readdirSync(path.join(common, 'tmp')), []);
    assert.ok(existsSync(path.join(iso, 'etc/new')), 'the later layer is not touched');
  }));

test('pruneHidden: a folder the later layer made opaque (removed and made again) leaves none of its old content', () =>
  withLayers((common, iso) => {
    tree(common, {
      'etc/site.d/secret.conf': 'token=common',
      'etc/site.d/sub/deep.conf': 'deep',
      'etc/other.d/kept.conf': 'kept',
      'etc/keep': 'kept',
    });
    // the iso layer removed /etc/site.d and made it again with one new file: an opaque folder;
    // /etc/other.d is an ordinary (merged) folder with a new file
    tree(iso, { 'etc/site.d/new.conf': 'new', 'etc/other.d/added.conf': 'added' });
    const removed = pruneHidden(common, iso, new Set(['/etc/site.d']));
    assert.equal(removed, ['/etc/site.d']);
    assert.not.ok(existsSync(path.join(common, 'etc/site.d')), 'the old content of the opaque folder ships');
    assert.equal(readdirSync(path.join(common, 'etc')).sort(), ['keep', 'other.d']);
    assert.equal(
      readdirSync(path.join(common, 'etc/other.d')),
      ['kept.conf'],
      'a merged folder keeps its content',
    );
    assert.equal(readdirSync(path.join(iso, 'etc/site.d')), ['new.conf'], 'the later layer is not touched');
  }));

/** A PAX tar as GNU tar writes it for `opaqueTarArgv`: folders only, the opaque mark as an xattr record. */
async function paxTar(dirs: Record<string, string | undefined>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, mark] of Object.entries(dirs))
    pack.entry({
      name,
      type: 'directory',
      pax: mark ? { [`SCHILY.xattr.${OPAQUE_XATTR}`]: mark } : undefined,
    });
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

test('opaqueInTar: folders marked y, named as in the image; the kernel mark x (may hold xwhiteouts) is not opaque', async () => {
  const bytes = await paxTar({
    './etc/': undefined,
    './etc/site.d/': 'y',
    './var/lib/x/': 'x',
    'srv/data/': 'y',
  });
  assert.equal([...(await opaqueInTar(bytes))].sort(), ['/etc/site.d', '/srv/data']);
});

test('opaqueFoldersOf: GNU tar over the folders only (NUL-separated, verbatim), its marks read back', async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'ib-native-opaque-'));
  try {
    tree(d, { 'etc/site.d/a': 'a', '-odd dir/x': 'x', 'srv/link': { link: '/etc' } });
    assert.equal(foldersBelow(d), ['./-odd dir', './etc', './etc/site.d', './srv']);
    const seen: { argv: string[]; input?: string }[] = [];
    const bytes = await paxTar({ './etc/': undefined, './etc/site.d/': 'y' });
    const runner = {
      ...recordingRunner(),
      async run(argv: readonly string[], o?: { input?: string }) {
        seen.push({ argv: [...argv], input: o?.input });
        return { stdout: '', stderr: '', exitCode: 0, durationMs: 0, stdoutBytes: bytes };
      },
    };
    assert.equal([...(await opaqueFoldersOf(runner, d))], ['/etc/site.d']);
    assert.equal(seen, [{ argv: opaqueTarArgv(d), input: './-odd dir\0./etc\0./etc/site.d\0./srv\0' }]);
    // the real GNU tar takes that argv and input (no xattrs here: none is opaque)
    const real = await opaqueFoldersOf(processRunner({ logger: silentLogger }), d);
    assert.equal([...real], []);
    // an empty layer runs nothing
    const empty = recordingRunner();
    mkdirSync(path.join(d, 'empty-layer'));
    assert.equal([...(await opaqueFoldersOf(empty, path.join(d, 'empty-layer')))], []);
    assert.equal(empty.calls, []);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test.run();
