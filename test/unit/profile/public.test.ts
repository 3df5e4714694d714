import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { publicOp } from '../../../src/ops/public.ts';
import { HIDDEN, publicProfile } from '../../../src/profile/public.ts';
import { profile } from '../modules/helpers.ts';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-body\n-----END OPENSSH PRIVATE KEY-----\n';
const HASH = '$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdef';
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

test('publicProfile: file and script contents become sha256 and size, password hashes are hidden', () => {
  const p = profile({
    files: [{ path: '/root/.ssh/id_ed25519', content: KEY, mode: '0600' }],
    userScripts: [{ name: 'token', content: 'echo TOKEN-123 > /etc/token' }],
    users: [{ name: 'ops', passwordHash: HASH }, { name: 'svc' }],
  });
  const pub = publicProfile(p);
  const text = JSON.stringify(pub);
  for (const secret of [KEY.split('\n')[1]!, 'TOKEN-123', HASH])
    assert.not.ok(text.includes(secret), `"${secret}" is in the published profile`);
  const files = pub.files as Record<string, unknown>[];
  const { content: _content, ...rest } = p.files![0]!;
  assert.equal(files[0], {
    ...rest,
    contentSha256: sha(KEY),
    contentBytes: Buffer.byteLength(KEY),
  });
  assert.is(
    (pub.userScripts as Record<string, unknown>[])[0]!.contentSha256,
    sha('echo TOKEN-123 > /etc/token'),
  );
  assert.equal(
    (pub.users as { name: string; passwordHash?: string }[]).map((u) => [u.name, u.passwordHash]),
    [
      ['ops', HIDDEN],
      ['svc', undefined],
    ],
  );
  // everything else is kept as it was
  assert.is(pub.name, p.name);
  assert.equal(pub.packages, p.packages);
});

test('publicOp: a written file as sha256 and size, a command stdin as its size only', () => {
  const w = publicOp({
    kind: 'writeFile',
    module: 'files',
    path: '/etc/k',
    content: KEY,
    mode: '0600',
  } as never);
  assert.not.ok(JSON.stringify(w).includes('secret-key-body'));
  assert.is(w.contentSha256, sha(KEY));
  const r = publicOp({
    kind: 'run',
    module: 'users',
    argv: ['chpasswd', '--encrypted'],
    stdin: `ops:${HASH}\n`,
  } as never);
  assert.not.ok(JSON.stringify(r).includes(HASH));
  assert.is(r.stdinBytes, Buffer.byteLength(`ops:${HASH}\n`));
});

test.run();
