/**
 * The SPDX 2.3 SBOM of an image. No npm package ships the official SPDX 2.3 JSON schema, so the
 * document is validated with ajv against test/fixtures/spdx/spdx-2.3-required.schema.json (the
 * specification's requirements for the fields written, closed objects like the official schema),
 * plus the cross-references a schema cannot express.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../src/distro/debian.ts';
import { ubuntuFocal } from '../../src/distro/ubuntu.ts';
import {
  debPurl,
  type SbomInput,
  sbomOf,
  sbomText,
  spdxDocument,
  spdxId,
  spdxTimestamp,
} from '../../src/sbom.ts';
import type { InstalledPackage } from '../../src/sys/dpkg.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const schema = JSON.parse(
  readFileSync(path.join(here, '../fixtures/spdx/spdx-2.3-required.schema.json'), 'utf8'),
);
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
addFormats.default(ajv);
const validate = ajv.compile(schema);

const pkg = (name: string, version: string, architecture = 'amd64', source = name, sourceVersion = version) =>
  ({ name, version, architecture, source, sourceVersion }) satisfies InstalledPackage;

const PACKAGES: InstalledPackage[] = [
  pkg('adduser', '3.134', 'all'),
  pkg('attr', '1:2.5.1-4'),
  pkg('libc6', '2.36-9+deb12u10', 'amd64', 'glibc'),
  pkg('libstdc++6', '12.2.0-14+deb12u1', 'amd64', 'gcc-12', '12.2.0-14+deb12u1'),
  // multi-arch: the same name twice
  pkg('libgcc-s1', '12.2.0-14', 'amd64', 'gcc-12'),
  pkg('libgcc-s1', '12.2.0-14', 'i386', 'gcc-12'),
  // names that differ only where an SPDX id cannot carry the character
  pkg('a+b', '1'),
  pkg('a-2b-b', '1'),
];

const SHA = 'a'.repeat(64);
const input = (over: Partial<SbomInput> = {}): SbomInput => ({
  imageName: 'minimal.qcow2',
  imageSha256: SHA,
  distro: debianBookworm,
  packages: PACKAGES,
  created: 1_700_000_000,
  toolVersion: '0.1.0',
  ...over,
});

function schemaErrors(doc: unknown): string {
  return validate(doc) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

test('the SBOM of an image validates against the SPDX 2.3 requirements', () => {
  const doc = spdxDocument(input());
  assert.is(schemaErrors(doc), '');
});

test('the schema is strict enough to catch what SPDX forbids', () => {
  const doc = spdxDocument(input());
  const broken = [
    { ...doc, spdxVersion: 'SPDX-2.2' },
    { ...doc, documentNamespace: 'https://x.invalid/doc#1' },
    { ...doc, creationInfo: { ...doc.creationInfo, created: '2023-11-14T22:13:20.000Z' } },
    { ...doc, packages: [{ ...doc.packages[1]!, SPDXID: 'SPDXRef-deb-libstdc++6' }] },
    { ...doc, packages: [{ ...doc.packages[1]!, filesAnalyzed: undefined }] },
    { ...doc, packages: [{ ...doc.packages[1]!, downloadLocation: undefined }] },
    { ...doc, packages: [{ ...doc.packages[1]!, versionInfo: 'x', verison: 'typo' }] },
    { ...doc, relationships: [{ ...doc.relationships[0]!, relationshipType: 'HAS' }] },
  ];
  for (const [i, d] of broken.entries())
    assert.ok(schemaErrors(JSON.parse(JSON.stringify(d))) !== '', `broken document ${i} passed`);
});

test('every package: name, version, NOASSERTION supplier and download location, one purl', () => {
  const doc = spdxDocument(input());
  assert.is(doc.packages.length, PACKAGES.length + 1);
  const debs = doc.packages.slice(1);
  for (const [i, p] of debs.entries()) {
    assert.is(p.name, PACKAGES[i]!.name);
    assert.is(p.versionInfo, PACKAGES[i]!.version);
    assert.is(p.supplier, 'NOASSERTION');
    assert.is(p.downloadLocation, 'NOASSERTION');
    assert.is(p.filesAnalyzed, false);
    assert.equal(
      p.externalRefs?.map((r) => [r.referenceCategory, r.referenceType]),
      [['PACKAGE-MANAGER', 'purl']],
    );
  }
  const libc = debs.find((p) => p.name === 'libc6')!;
  assert.is(libc.sourceInfo, 'built from the debian source package glibc 2.36-9+deb12u10');
  assert.is(debs.find((p) => p.name === 'adduser')!.sourceInfo, undefined);
});

test('SPDX ids are valid and unique, every relationship points at an element', () => {
  const doc = spdxDocument(input());
  const ids = doc.packages.map((p) => p.SPDXID);
  assert.is(new Set(ids).size, ids.length, ids.join(' '));
  for (const id of ids) assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
  const known = new Set([doc.SPDXID, ...ids]);
  for (const r of doc.relationships) {
    assert.ok(known.has(r.spdxElementId), r.spdxElementId);
    assert.ok(known.has(r.relatedSpdxElement), r.relatedSpdxElement);
  }
  assert.equal(doc.relationships[0], {
    spdxElementId: 'SPDXRef-DOCUMENT',
    relationshipType: 'DESCRIBES',
    relatedSpdxElement: 'SPDXRef-Image',
  });
  assert.is(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').length, PACKAGES.length);
  assert.is(spdxId('deb', 'libstdc++6', 'amd64'), 'SPDXRef-deb-libstdc-2b--2b-6-amd64');
});

test('the image itself: its file name and sha256', () => {
  const image = spdxDocument(input()).packages[0]!;
  assert.is(image.SPDXID, 'SPDXRef-Image');
  assert.is(image.name, 'minimal.qcow2');
  assert.equal(image.checksums, [{ algorithm: 'SHA256', checksumValue: SHA }]);
  assert.is(image.primaryPackagePurpose, 'OPERATING-SYSTEM');
});

test('package URLs: deb type, debian or ubuntu namespace, percent-encoded, arch and distro', () => {
  assert.is(
    debPurl(pkg('libstdc++6', '12.2.0-14+deb12u1'), debianBookworm),
    'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-bookworm',
  );
  assert.is(
    debPurl(pkg('attr', '1:2.5.1-4'), debianBookworm),
    'pkg:deb/debian/attr@1:2.5.1-4?arch=amd64&distro=debian-bookworm',
  );
  assert.is(
    debPurl(pkg('cloud-init', '22.2-0ubuntu1~20.04.3', 'all'), ubuntuFocal),
    'pkg:deb/ubuntu/cloud-init@22.2-0ubuntu1~20.04.3?arch=all&distro=ubuntu-focal',
  );
  const doc = spdxDocument(input({ distro: ubuntuFocal }));
  assert.ok(
    doc.packages.slice(1).every((p) => p.externalRefs![0]!.referenceLocator.startsWith('pkg:deb/ubuntu/')),
  );
  assert.is(schemaErrors(doc), '');
});

test('deterministic: the namespace follows the image sha256, created follows the given time', () => {
  assert.equal(spdxDocument(input()), spdxDocument(input()));
  const a = spdxDocument(input());
  const b = spdxDocument(input({ imageSha256: 'b'.repeat(64) }));
  assert.is(a.documentNamespace, `https://spdx.org/spdxdocs/ib-native/minimal.qcow2-${SHA}`);
  assert.is.not(a.documentNamespace, b.documentNamespace);
  assert.is(a.creationInfo.created, '2023-11-14T22:13:20Z');
  assert.is(spdxTimestamp(0), '1970-01-01T00:00:00Z');
  assert.equal(a.creationInfo.creators, ['Tool: ib-native-0.1.0']);
});

test('sbomText renders the document of an image named after its file', () => {
  const { imageName: _n, ...rest } = input();
  const doc = JSON.parse(sbomText('/out/minimal.iso', rest));
  assert.is(doc.name, 'minimal.iso');
  assert.is(sbomOf('/out/minimal.iso'), '/out/minimal.iso.spdx.json');
  assert.is(schemaErrors(doc), '');
});

test.run();
