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
  /** GET of `/v2/<p>`, with an Accept header when given. */
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

export async function startRegistry(dir: string, repository = 'ib-native/cache'): Promise<Registry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const storage = path.join(dir, 'storage');
  const config = path.join(dir, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
      `http: { addr: "127.0.0.1:${port}" }`,
      '',
    ].join('\n'),
  );
  const proc = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const api = (p: string, accept?: string) =>
    fetch(`http://127.0.0.1:${port}/v2/${p}`, accept ? { headers: { accept } } : {});
  for (let i = 0; i < 100; i++) {
    if ((await api('').catch(() => undefined))?.ok)
      return { port, ref: `127.0.0.1:${port}/${repository}`, storage, api, stop: () => proc.kill() };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port}`);
}
