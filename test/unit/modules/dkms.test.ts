import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DKMS_BUILD_SCRIPT, dkmsModule } from '../../../src/modules/dkms.ts';
import { bodies, profile } from './helpers.ts';

function source(conf?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-dkms-'));
  const src = path.join(dir, 'i40e');
  mkdirSync(src);
  if (conf !== undefined) writeFileSync(path.join(src, 'dkms.conf'), conf);
  return src;
}

test('dkms: source copied to /usr/src/NAME-VERSION, built by the chroot script; dkms and headers installed', () => {
  const p = profile({ dkms: [{ name: 'i40e', version: '2.15.9', source: '/host/i40e' }] });
  assert.equal(bodies(dkmsModule.plan(p)), [
    { kind: 'copyIn', source: '/host/i40e', path: '/usr/src/i40e-2.15.9' },
    {
      kind: 'run',
      argv: [DKMS_BUILD_SCRIPT, 'i40e', '2.15.9'],
      description: 'build DKMS module i40e 2.15.9',
    },
  ]);
  assert.equal(dkmsModule.packages!(p), ['dkms', 'linux-headers-generic']);
  assert.equal(dkmsModule.packages!(profile({ distro: 'debian-bookworm', dkms: p.dkms })), [
    'dkms',
    'linux-headers-amd64',
  ]);
  assert.equal(dkmsModule.packages!(profile()), []);
});

test('dkms: the source must be a folder holding a dkms.conf that agrees on name and version', () => {
  const ok = source('PACKAGE_NAME="i40e"\nPACKAGE_VERSION="2.15.9"\n');
  assert.equal(
    dkmsModule.validate!(profile({ dkms: [{ name: 'i40e', version: '2.15.9', source: ok }] })),
    [],
  );
  const issues = dkmsModule.validate!(
    profile({
      dkms: [
        { name: 'i40e', version: '2.15.9', source: '/nonexistent/i40e' },
        { name: 'i40e', version: '2.15.9', source: source() },
        { name: 'i40e', version: '2.16.0', source: ok },
      ],
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['dkms[0].source', 'dkms[1].source', 'dkms[2].version'],
  );
  assert.match(issues[1]!.message, /holds no dkms.conf/);
  assert.match(issues[2]!.message, /PACKAGE_VERSION="2.15.9"/);
});

test.run();
