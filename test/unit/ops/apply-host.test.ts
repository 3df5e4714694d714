/**
 * A hostile image tree: links at the last part (and in between) point at host paths. Nothing an
 * operation does may change anything outside the root (here: a "victim" folder beside it).
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../../src/log.ts';
import { type ApplyContext, applyOps } from '../../../src/ops/apply.ts';
import { type Op, type OpBody, ops } from '../../../src/ops/types.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import type { Chroot } from '../../../src/stages/chroot.ts';

let base = '';
let root = '';
let victim = '';
let chrootCalls: string[][] = [];

function setup() {
  base = mkdtempSync(path.join(tmpdir(), 'ib-native-hostile-'));
  root = path.join(base, 'root');
  victim = path.join(base, 'victim');
  mkdirSync(path.join(victim, 'dir'), { recursive: true });
  writeFileSync(path.join(victim, 'file'), 'host secret\n');
  chmodSync(path.join(victim, 'file'), 0o640);
  chmodSync(path.join(victim, 'dir'), 0o755);
  for (const d of ['etc', 'var', 'usr/share/zoneinfo/Etc', 'tmp', 'opt', 'run'])
    mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, 'usr/share/zoneinfo/Etc/UTC'), 'TZif\n');
  chmodSync(path.join(root, 'usr/share/zoneinfo/Etc/UTC'), 0o644);
  // absolute links naming host paths (in the image they name paths under the root)
  symlinkSync(path.join(victim, 'dir'), path.join(root, 'var/run'));
  symlinkSync(path.join(victim, 'file'), path.join(root, 'etc/localtime'));
  symlinkSync(path.join(victim, 'file'), path.join(root, 'etc/motd'));
  symlinkSync(path.join(victim, 'file'), path.join(root, 'opt/app.tar'));
  // a relative link climbing out with ..
  symlinkSync(`../../../..${victim}/dir`, path.join(root, 'var/lock'));
  symlinkSync(path.join(victim, 'dir'), path.join(root, 'tmp/url_resources'));
  chrootCalls = [];
}

function cleanup() {
  rmSync(base, { recursive: true, force: true });
}

function ctx(download?: (url: string, dest: string) => Promise<void>): ApplyContext {
  const chroot = {
    root,
    run: async (argv: string[]) => {
      chrootCalls.push(argv);
      return { stdout: '', stderr: '', exitCode: 0, durationMs: 0 };
    },
  } as unknown as Chroot;
  return {
    chroot,
    logger: silentLogger,
    runner: recordingRunner(),
    download: download ?? (async (_u, dest) => writeFileSync(dest, 'payload\n')),
  };
}

const op = (body: OpBody): Op[] => ops('test', undefined, body);
const mode = (p: string) => statSync(p).mode & 0o7777;

function victimUntouched() {
  assert.is(mode(path.join(victim, 'dir')), 0o755, 'the host folder keeps its mode');
  assert.is(mode(path.join(victim, 'file')), 0o640, 'the host file keeps its mode');
  assert.is(
    readFileSync(path.join(victim, 'file'), 'utf8'),
    'host secret\n',
    'the host file keeps its content',
  );
}

test.before.each(setup);
test.after.each(cleanup);

async function attempt(o: Op[], c = ctx()): Promise<Error | undefined> {
  try {
    await applyOps(o, 'common', c);
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

test('mkdir with a mode on /var/run (a link to a host folder) never chmods the host folder', async () => {
  const e = await attempt(op({ kind: 'mkdir', path: '/var/run', mode: '0700' }));
  victimUntouched();
  assert.ok(e, 'refused: the mode of a link cannot be set');
  assert.match(e!.message, /\/var\/run is a symbolic link/);
});

test('mkdir through a relative link climbing with .. stays in the root', async () => {
  await attempt(op({ kind: 'mkdir', path: '/var/lock/sub', mode: '0700' }));
  victimUntouched();
  assert.not.ok(existsSync(path.join(victim, 'dir/sub')), 'nothing made in the host folder');
});

test('filePermissions on /etc/localtime (a link) never chmods the link target on the host', async () => {
  const e = await attempt(op({ kind: 'chmod', path: '/etc/localtime', mode: '0600' }));
  victimUntouched();
  assert.ok(e);
  assert.match(e!.message, /symbolic link/);
});

test('chown of a link is done in the image, on the link itself', async () => {
  await applyOps(op({ kind: 'chmod', path: '/usr/share/zoneinfo/Etc/UTC', owner: 'root' }), 'common', ctx());
  assert.equal(chrootCalls, [['chown', '--no-dereference', 'root', '--', '/usr/share/zoneinfo/Etc/UTC']]);
});

test('writing a file over a link replaces the link, the host file is untouched', async () => {
  await applyOps(
    op({ kind: 'writeFile', path: '/etc/motd', content: 'hi\n', mode: '0600' }),
    'common',
    ctx(),
  );
  victimUntouched();
  const st = lstatSync(path.join(root, 'etc/motd'));
  assert.ok(st.isFile());
  assert.is(st.mode & 0o7777, 0o600);
  assert.is(readFileSync(path.join(root, 'etc/motd'), 'utf8'), 'hi\n');
});

test('fetch into a folder that is a link to the host lands inside the root', async () => {
  const fetched: string[] = [];
  const c = ctx(async (_u, dest) => {
    fetched.push(dest);
    writeFileSync(dest, 'payload\n');
  });
  const sha = 'e6c9fd3bd0d3d0d1fa4c4e5d5bde3ba4b0ab6e1d8d2f5b1a0c5d4be3e04b4a1f';
  await attempt(
    op({ kind: 'fetch', url: 'https://example.org/f', sha256: sha, path: '/tmp/url_resources/file' }),
    c,
  );
  victimUntouched();
  assert.not.ok(existsSync(path.join(victim, 'dir/file')));
  // the download went to a private folder, not a guessable name in /tmp
  assert.is(fetched.length, 1);
  assert.not.match(path.basename(path.dirname(fetched[0]!)), /^tmp$/);
  assert.not.ok(existsSync(fetched[0]!), 'the temporary download is gone');
});

test('fetch over a file link replaces the link, never writes the host file', async () => {
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update('payload\n').digest('hex');
  await applyOps(
    op({ kind: 'fetch', url: 'https://example.org/f', sha256: sha, path: '/opt/app.tar' }),
    'common',
    ctx(),
  );
  victimUntouched();
  const st = lstatSync(path.join(root, 'opt/app.tar'));
  assert.ok(st.isFile());
  assert.is(st.mode & 0o777, 0o644);
});

test('two fetches in flight never share a temporary name', async () => {
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update('payload\n').digest('hex');
  const seen: string[] = [];
  const c = ctx(async (_u, dest) => {
    seen.push(dest);
    await new Promise((r) => setImmediate(r));
    writeFileSync(dest, 'payload\n', { flag: 'wx' });
  });
  mkdirSync(path.join(root, 'a'));
  mkdirSync(path.join(root, 'b'));
  await Promise.all([
    applyOps(op({ kind: 'fetch', url: 'https://x/1', sha256: sha, path: '/a/same' }), 'common', c),
    applyOps(op({ kind: 'fetch', url: 'https://x/2', sha256: sha, path: '/b/same' }), 'common', c),
  ]);
  assert.is(new Set(seen).size, 2);
});

test('removing a path never crosses into a mount (checked against mountinfo)', async () => {
  // the root itself is no mount here; a path under /proc of the host namespace is
  const e = await attempt(op({ kind: 'remove', path: '/run' }));
  assert.ok(e, 'paths under /run are the session mounts: refused');
  assert.match(e!.message, /under \/run/);
});

test('a path that resolves under /dev, /proc, /sys or /run through a link is refused', async () => {
  symlinkSync('/dev', path.join(root, 'etc/devlink'));
  const e = await attempt(op({ kind: 'writeFile', path: '/etc/devlink/vda', content: '' }));
  assert.ok(e);
  assert.match(e!.message, /through a link: \/dev\/vda/);
  assert.ok(readlinkSync(path.join(root, 'etc/devlink')));
});

test.run();
