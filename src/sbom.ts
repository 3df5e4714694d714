import path from 'node:path';
import type { Distro } from './distro/index.ts';
import type { InstalledPackage } from './sys/dpkg.ts';

/**
 * The software bill of materials of an image: an SPDX 2.3 JSON document listing every Debian
 * package in it (from the manifest's package list) with its package URL, written beside the
 * image as `<image>.spdx.json` (staged with the image, see `Publication`). Rendering is pure.
 */

export const SPDX_VERSION = 'SPDX-2.3';
const NOASSERTION = 'NOASSERTION';
const DOCUMENT_ID = 'SPDXRef-DOCUMENT';
const IMAGE_ID = 'SPDXRef-Image';

export interface SbomInput {
  /** File name of the image, e.g. minimal.qcow2. */
  imageName: string;
  /** sha256 of the image file: makes the document namespace unique and reproducible. */
  imageSha256: string;
  distro: Pick<Distro, 'name' | 'family'>;
  packages: readonly InstalledPackage[];
  /** Creation time, seconds since the epoch (SOURCE_DATE_EPOCH when set). */
  created: number;
  toolVersion: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  supplier: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: { algorithm: 'SHA256'; checksumValue: string }[];
  sourceInfo?: string;
  primaryPackagePurpose?: string;
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
}

export interface SpdxDocument {
  spdxVersion: typeof SPDX_VERSION;
  dataLicense: 'CC0-1.0';
  SPDXID: typeof DOCUMENT_ID;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

/** Percent-encoding of a purl component (RFC 3986 unreserved characters stay; ':' too, as in epochs). */
function purlEncode(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':');
}

/** pkg:deb/<debian|ubuntu>/NAME@VERSION?arch=ARCH&distro=DISTRO (package-url spec, type deb). */
export function debPurl(p: InstalledPackage, distro: Pick<Distro, 'name' | 'family'>): string {
  const qualifiers = [
    ...(p.architecture ? [`arch=${purlEncode(p.architecture)}`] : []),
    `distro=${purlEncode(distro.name)}`,
  ];
  return `pkg:deb/${distro.family}/${purlEncode(p.name)}@${purlEncode(p.version)}?${qualifiers.join('&')}`;
}

/** An SPDX identifier: `SPDXRef-` then letters, digits, '.' and '-' only. */
export function spdxId(prefix: string, ...parts: string[]): string {
  const idstring = parts
    .filter(Boolean)
    .map((s) => s.replace(/[^A-Za-z0-9.-]/g, (c) => `-${c.charCodeAt(0).toString(16)}-`))
    .join('-');
  return `SPDXRef-${prefix}-${idstring}`;
}

/** SPDX's timestamp form: YYYY-MM-DDThh:mm:ssZ (no fraction). */
export function spdxTimestamp(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function spdxDocument(i: SbomInput): SpdxDocument {
  const seen = new Set<string>();
  const unique = (id: string) => {
    let out = id;
    for (let n = 2; seen.has(out); n++) out = `${id}-${n}`;
    seen.add(out);
    return out;
  };
  const debs: SpdxPackage[] = i.packages.map((p) => ({
    SPDXID: unique(spdxId('deb', p.name, p.architecture)),
    name: p.name,
    versionInfo: p.version,
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    ...(p.source !== p.name || p.sourceVersion !== p.version
      ? { sourceInfo: `built from the ${i.distro.family} source package ${p.source} ${p.sourceVersion}` }
      : {}),
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debPurl(p, i.distro) },
    ],
  }));
  const image: SpdxPackage = {
    SPDXID: IMAGE_ID,
    name: i.imageName,
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: i.imageSha256 }],
    primaryPackagePurpose: 'OPERATING-SYSTEM',
  };
  return {
    spdxVersion: SPDX_VERSION,
    dataLicense: 'CC0-1.0',
    SPDXID: DOCUMENT_ID,
    name: i.imageName,
    documentNamespace: `https://spdx.org/spdxdocs/ib-native/${encodeURIComponent(i.imageName)}-${i.imageSha256}`,
    creationInfo: { created: spdxTimestamp(i.created), creators: [`Tool: ib-native-${i.toolVersion}`] },
    packages: [image, ...debs],
    relationships: [
      { spdxElementId: DOCUMENT_ID, relationshipType: 'DESCRIBES', relatedSpdxElement: IMAGE_ID },
      ...debs.map((d) => ({
        spdxElementId: IMAGE_ID,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: d.SPDXID,
      })),
    ],
  };
}

/** `<image>.spdx.json` beside an image. */
export const sbomOf = (image: string): string => `${image}.spdx.json`;

/** The SBOM document of an image, as the text of `<image>.spdx.json`. */
export function sbomText(imagePath: string, input: Omit<SbomInput, 'imageName'>): string {
  return `${JSON.stringify(spdxDocument({ ...input, imageName: path.basename(imagePath) }), null, 2)}\n`;
}
