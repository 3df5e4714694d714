import { renameSync, writeFileSync } from 'node:fs';
import type { Runner } from '../run/runner.ts';
import { asideName } from './files.ts';

/**
 * Download one URL to a file with curl, through the build's proxy settings (`env`, see
 * src/proxy.ts). Only http and https, redirects included, so a URL cannot make curl read a
 * local file.
 */
export async function download(
  runner: Runner,
  url: string,
  dest: string,
  env?: Record<string, string>,
  context = `downloading ${url}`,
): Promise<void> {
  await runner.run(
    [
      'curl',
      '--fail',
      '--silent',
      '--show-error',
      '--location',
      '--proto',
      '=http,https',
      '--proto-redir',
      '=http,https',
      '--retry',
      '3',
      '--output',
      dest,
      '--',
      url,
    ],
    { env, context },
  );
}

/** Write a file beside its final name, then rename it into place: readers see all or nothing. */
export function writeFileAtomic(dest: string, content: string | Buffer, mode = 0o644): void {
  const aside = asideName(dest);
  writeFileSync(aside, content, { mode });
  renameSync(aside, dest);
}
