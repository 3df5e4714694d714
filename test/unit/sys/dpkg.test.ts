import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { installedPackages, parseDpkgStatus } from '../../../src/sys/dpkg.ts';

const STATUS = `Package: zlib1g
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2+b1
Conffiles:
 /etc/ssl/openssl.cnf 0123456789abcdef

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b2

Package: removed-but-configured
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: wanted
Status: install ok not-installed
Architecture: amd64

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0

Package: unpacked-only
Status: install ok unpacked
Architecture: all
Version: 0.1
`;

test('parseDpkgStatus: installed packages only, sorted, with source name and version', () => {
  assert.equal(parseDpkgStatus(STATUS), [
    {
      name: 'bash',
      version: '5.2.15-2+b2',
      architecture: 'amd64',
      source: 'bash',
      sourceVersion: '5.2.15-2+b2',
    },
    {
      name: 'libssl3',
      version: '3.0.11-1~deb12u2+b1',
      architecture: 'amd64',
      source: 'openssl',
      sourceVersion: '3.0.11-1~deb12u2',
    },
    {
      name: 'zlib1g',
      version: '1:1.2.13.dfsg-1',
      architecture: 'amd64',
      source: 'zlib',
      sourceVersion: '1:1.2.13.dfsg-1',
    },
  ]);
});

test('parseDpkgStatus: empty text; a blank line holding spaces still separates stanzas', () => {
  assert.equal(parseDpkgStatus(''), []);
  assert.equal(
    parseDpkgStatus(
      'Package: a\nStatus: install ok installed\nVersion: 1\n \nPackage: b\nStatus: hold ok installed\nVersion: 2\n',
    ).map((p) => `${p.name}=${p.version}`),
    ['a=1', 'b=2'],
  );
});

test('installedPackages: reads var/lib/dpkg/status under a root; none when missing', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ib-native-dpkg-'));
  try {
    assert.equal(installedPackages(root), []);
    mkdirSync(path.join(root, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(path.join(root, 'var/lib/dpkg/status'), STATUS);
    assert.equal(
      installedPackages(root).map((p) => p.name),
      ['bash', 'libssl3', 'zlib1g'],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
