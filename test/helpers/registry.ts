/**
 * An OCI registry for the remote cache's tests and bench: Debian's docker-registry (CNCF
 * Distribution) on 127.0.0.1, a free port, its storage in a folder of the caller's.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export interface Registry {
  port: number;
  /** A repository in it, as --cache-from/--cache-to take it. */
  ref: string;
  /** Where it keeps blobs (`docker/registry/v2/blobs/sha256/...`). */
  storage: string;
  /** GET of `/v2/<p>`, with an Accept header when given (and the login when it needs one). */
  api(p: string, accept?: string): Promise<Response>;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A login the registry can require (`auth`): its bcrypt hash, made once for the tests' password. */
export const TEST_LOGIN = {
  user: 'ibn',
  password: 'ibn-test-pw',
  bcrypt: '$2b$12$UeY45ceFz8PUz5ORvN8yEeHV0r68bt1/niOn6/OrUgOkJKxraxR9W',
} as const;

export async function startRegistry(
  dir: string,
  repository = 'ib-native/cache',
  opts: { auth?: boolean } = {},
): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const storage = path.join(dir, 'storage');
  const config = path.join(dir, 'registry.yml');
  const htpasswd = path.join(dir, 'htpasswd');
  if (opts.auth) writeFileSync(htpasswd, `${TEST_LOGIN.user}:${TEST_LOGIN.bcrypt}\n`);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      ...(opts.auth ? [`auth: { htpasswd: { realm: ib-native-test, path: ${htpasswd} } }`] : []),
      '',
    ].join('\n'),
  );
  const proc = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const basic = `Basic ${Buffer.from(`${TEST_LOGIN.user}:${TEST_LOGIN.password}`).toString('base64')}`;
  const api = (p: string, accept?: string) =>
    fetch(`http://127.0.0.1:${port}/v2/${p}`, {
      headers: { ...(accept ? { accept } : {}), ...(opts.auth ? { authorization: basic } : {}) },
    });
  for (let i = 0; i < 100; i++) {
    if ((await api('').catch(() => undefined))?.ok)
      return { port, ref: `127.0.0.1:${port}/${repository}`, storage, api, stop: () => proc.kill() };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port}`);
}
