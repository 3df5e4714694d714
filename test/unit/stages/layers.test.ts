import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pruneHidden } from '../../../src/stages/layers.ts';

function tree(dir: string, entries: Record<string, string | null | { link: string }>) {
  for (const [p, v] of Object.entries(entries)) {
    const at = path.join(dir, p);
    mkdirSync(v === null ? at : path.dirname(at), { recursive: true });
    if (typeof v === 'string') writeFileSync(at, v);
    else if (v !== null) symlinkSync(v.link, at);
  }
}

test('pruneHidden: what the later layer removes or replaces leaves the earlier layer; the rest stays', () => {
  const d = mkdtempSync(path.join(tmpdir(), 'ib-native-layers-'));
  try {
    const common = path.join(d, 'common');
    const iso = path.join(d, 'iso');
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
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test.run();
