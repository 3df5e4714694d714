import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BEGIN,
  END,
  mergeResults,
  type ReleaseResult,
  renderTable,
  replaceSection,
} from '../../distros/report.ts';

const jammy: ReleaseResult = {
  distro: 'ubuntu-jammy',
  date: '2026-12-02T08:40:12.000Z',
  status: 'passed',
  bootstrapper: 'debootstrap',
  rootfsSeconds: 812.4,
  rootfsCold: true,
  isoBytes: 900 * 1024 ** 2,
  qcow2Bytes: 750.4 * 1024 ** 2,
  boots: { 'qcow2-bios': 95.2, 'qcow2-uefi': 120.6, 'iso-bios': 150 },
  osRelease: 'ubuntu 22.04 jammy',
  load: 31.456,
};
const noble: ReleaseResult = {
  distro: 'ubuntu-noble',
  date: '2026-12-02T08:41:00.000Z',
  status: 'skipped',
  reason: 'http://archive.ubuntu.com/ubuntu/dists/noble/InRelease did not answer: fetch failed | x\nmore',
  boots: {},
};

test('renderTable: one row per release in registry order; sizes in MB, times in s; skip reason shown', () => {
  assert.is(
    renderTable([noble, jammy], ['ubuntu-jammy', 'ubuntu-noble']).split('\n').slice(2).join('\n'),
    [
      '| ubuntu-jammy | passed | 2026-12-02 08:40 | ubuntu 22.04 jammy | 812 s cold (debootstrap) | 900 MB | 750 MB | 95 s | 121 s | 150 s | 31.5 |',
      '| ubuntu-noble | **skipped**: http://archive.ubuntu.com/ubuntu/dists/noble/InRelease did not answer: fetch failed / x | 2026-12-02 08:41 | – | – | – | – | – | – | – | – |',
    ].join('\n'),
  );
});

test('mergeResults: a run replaces the releases it ran, keeps the others', () => {
  const older = { ...jammy, status: 'failed' as const };
  assert.equal(mergeResults([older, noble], [jammy]), [jammy, noble]);
  assert.equal(mergeResults([], [noble]), [noble]);
});

test('replaceSection: between the markers only; appended when the markers are absent', () => {
  const readme = `# t\n\n${BEGIN}\nold\n${END}\n\n## next\n`;
  assert.is(replaceSection(readme, 'new'), `# t\n\n${BEGIN}\nnew\n${END}\n\n## next\n`);
  assert.is(replaceSection('# t\n', 'new'), `# t\n\n${BEGIN}\nnew\n${END}\n`);
});

test.run();
