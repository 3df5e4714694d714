/**
 * Issue 15 (3): one ISO per site from one base. `build --format iso --site DIR` x3 (minimal, the
 * rootfs and base squashfs of 10-minimal-build from the cache) writes `minimal-<site>.iso` for each
 * site folder; after the first, a site costs one xorriso run (the build log shows no other command
 * in its stage); each ISO carries its own config drive, boots, and runs its own site's user-data
 * (its marker on the console, no other site's).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanHost, buildArgs, cli, ownScratch } from '../helpers/host.ts';

const DIR = ownScratch('sites');
const OUT = path.join(DIR, 'out');
const SITES = ['dc1', 'dc2', 'dc3'];
const TIMEOUT = process.env.IB_NATIVE_BOOT_TIMEOUT ?? '600';
// assembled at run time, so an echo of the user-data itself cannot fake it
const marker = (site: string) => `IBN-SITE-${site.toUpperCase()}-RAN`;

test.before(() => {
  rmSync(DIR, { recursive: true, force: true });
  for (const site of SITES) {
    mkdirSync(path.join(DIR, site), { recursive: true });
    const [head, tail] = [marker(site).slice(0, 8), marker(site).slice(8)];
    writeFileSync(
      path.join(DIR, site, 'user_data'),
      `#cloud-config\nruncmd:\n  - [ sh, -c, 'echo "${head}""${tail}" > /dev/ttyS0' ]\n`,
    );
  }
  // one site gives its own meta_data.json (the others get the generated one)
  writeFileSync(
    path.join(DIR, 'dc2', 'meta_data.json'),
    JSON.stringify({ uuid: '0d1c2b3a-4f5e-4d6c-8b7a-0123456789ab', hostname: 'dc2-node', name: 'dc2' }),
  );
});

test('one ISO per site, named after its folder; after the first, each site is one xorriso run', async () => {
  const sites = SITES.flatMap((s) => ['--site', path.join(DIR, s)]);
  const r = await cli(buildArgs('minimal', 'iso', OUT, ...sites));
  assert.is(r.exitCode, 0, `build failed:\n${r.all.slice(-4000)}`);
  const manifest = JSON.parse(readFileSync(path.join(OUT, 'minimal.manifest.json'), 'utf8'));
  assert.equal(
    manifest.outputs.map((o: { file: string }) => o.file).sort(),
    SITES.map((s) => `minimal-${s}.iso`),
  );
  const log = readFileSync(path.join(OUT, 'minimal.build.log'), 'utf8').split('\n');
  for (const site of SITES.slice(1)) {
    const start = log.findIndex((l) => l.includes(`stage iso:${site}: start`));
    const end = log.findIndex((l) => l.includes(`stage iso:${site}: done`));
    assert.ok(start >= 0 && end > start, `no stage iso:${site} in the build log`);
    const commands = log.slice(start, end).filter((l) => / DEBUG \$ /.test(l));
    assert.equal(
      commands.map((l) => l.split('$ ')[1]!.split(' ')[0]),
      ['xorriso'],
      `site ${site} ran more than xorriso:\n${commands.join('\n')}`,
    );
  }
  assertCleanHost(assert, 'after building the site ISOs');
});

for (const site of SITES)
  test(`minimal-${site}.iso boots and runs ${site}'s user-data, no other site's`, async () => {
    const console = path.join(DIR, `${site}.console`);
    const r = await cli([
      'boot',
      path.join(OUT, `minimal-${site}.iso`),
      '--timeout',
      TIMEOUT,
      '--console-log',
      console,
      '--expect',
      marker(site),
    ]);
    assert.is(r.exitCode, 0, `boot failed:\n${r.all.slice(-3000)}`);
    const text = readFileSync(console, 'utf8');
    for (const other of SITES.filter((s) => s !== site))
      assert.not.ok(text.includes(marker(other)), `${site}'s ISO ran ${other}'s user-data`);
  });

test.run();
