/** Profiles written on the fly by integration tests. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './host.ts';

/**
 * `<dir>/<name>.ts`: the shipped minimal profile plus one sysctl (kernel.pid_max) and one file,
 * so that both configuration layers hold something; returns its path.
 */
export function minimalVariant(
  dir: string,
  name: string,
  pidMax: number,
  file: { path: string; content: string },
): string {
  const out = path.join(dir, `${name}.ts`);
  writeFileSync(
    out,
    `import { defineProfile } from 'ib-native';
export default defineProfile({
  name: '${name}',
  extends: '${path.join(REPO, 'profiles/minimal.ts')}',
  sysctl: { 'kernel.pid_max': '${pidMax}' },
  files: [{ path: '${file.path}', content: ${JSON.stringify(file.content)} }],
});
`,
  );
  return out;
}
