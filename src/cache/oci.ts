/**
 * A stage-cache entry as an OCI artifact (pure, but for reading and writing an OCI image layout):
 * the registry reference grammar of `--cache-from`/`--cache-to`, the tag of an entry, the manifest
 * of an entry (one config blob: the entry's description; one layer: the entry's files as a
 * zstd tar), and the check of a pulled layout, every blob against its digest and size, before any
 * byte of it is used.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { sha256File } from '../sys/files.ts';
import { isCacheKind } from './kinds.ts';

export const ARTIFACT_TYPE = 'application/vnd.ib-native.cache.v1';
export const CONFIG_MEDIA_TYPE = 'application/vnd.ib-native.cache.config.v1+json';
export const LAYER_MEDIA_TYPE = 'application/vnd.ib-native.cache.layer.v1.tar+zstd';
const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';

/** A registry repository that holds cache entries, one tag per entry. */
export interface CacheRef {
  /** As the user gave it (host[:port]/path). */
  ref: string;
  registry: string;
  repository: string;
  /**
   * Spoken to over plain HTTP (TLS not required): a registry on the loopback, as docker and podman
   * do. Any other needs TLS unless registries.conf marks it insecure (skopeo reads that file).
   */
  plainHttp: boolean;
}

// the distribution reference grammar (docker/distribution reference/regexp.go), written out here
const HOST_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY = new RegExp(`^(?:${HOST_PART}(?:\\.${HOST_PART})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

/**
 * `host[:port]/path` of a registry repository, checked against the reference grammar. The registry
 * host is required (no implicit Docker Hub); no tag or digest (each entry is tagged `<kind>-<key>`).
 */
export function parseCacheRef(value: string, flag: string): CacheRef {
  const bad = (why: string) =>
    new UserError(
      `${flag} "${value}" ${why}`,
      `give a registry repository without a tag, for example ${flag} 127.0.0.1:5000/ib-native/cache or registry.example.com/site/ib-cache`,
    );
  if (value.length === 0 || value.length > 255) throw bad('must be 1 to 255 characters');
  if (/[\s\0]/.test(value)) throw bad('contains white space or a control character');
  if (value.includes('://')) throw bad('is a URL; give host/path without a scheme');
  if (value.includes('@')) throw bad('has a digest or user part; give the repository only');
  const slash = value.indexOf('/');
  if (slash < 0) throw bad('names no registry host (host[:port]/path)');
  const registry = value.slice(0, slash);
  const repository = value.slice(slash + 1);
  if (!REGISTRY.test(registry)) throw bad(`has an invalid registry host "${registry}"`);
  if (!registry.includes('.') && !registry.includes(':') && registry !== 'localhost')
    throw bad(
      `starts with "${registry}", which is not a registry host (it needs a dot, a port, or localhost)`,
    );
  const last = repository.split('/').at(-1) ?? '';
  if (last.includes(':')) throw bad('has a tag; ib-native tags each entry itself (<kind>-<key>)');
  for (const part of repository.split('/'))
    if (!PATH_COMPONENT.test(part))
      throw bad(`has an invalid path component "${part}" (lower-case letters, digits, . _ - between them)`);
  return { ref: value, registry, repository, plainHttp: LOOPBACK.test(registry) };
}

/** The tag of an entry: its kind and content key (both from the engine, never from a profile). */
export function entryTag(kind: string, key: string): string {
  const tag = `${kind}-${key}`;
  if (!isCacheKind(kind) || !/^[0-9a-f]{8,64}$/.test(key)) throw new Error(`not a cache entry name: ${tag}`);
  return tag;
}

export function imageName(ref: CacheRef, tag: string): string {
  return `docker://${ref.registry}/${ref.repository}:${tag}`;
}

/** What an artifact's config says of its entry (the local entry.json, less where it was used). */
export interface ArtifactConfig {
  kind: string;
  key: string;
  createdAt: string;
  summary: string;
  /** Bytes of the entry's files, unpacked. */
  bytes?: number;
  /** The ib-native version that pushed it. */
  pushedBy: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

/** The manifest of an entry: its config blob and its one layer (pure). */
export function entryManifest(config: Descriptor, layer: Descriptor, createdAt: string): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType: ARTIFACT_TYPE,
    config: { ...config, mediaType: CONFIG_MEDIA_TYPE },
    layers: [{ ...layer, mediaType: LAYER_MEDIA_TYPE }],
    annotations: { 'org.opencontainers.image.created': createdAt },
  };
}

/** `sha256:<hex>` of a file (blobs are up to gigabytes: read in large chunks). */
export async function fileDigest(file: string): Promise<string> {
  return `sha256:${await sha256File(file)}`;
}

const blobPath = (layout: string, digest: string) => path.join(layout, 'blobs', ...digest.split(':'));

/** A blob into an OCI layout under its digest; `from` a file (moved) or bytes. */
export async function addBlob(layout: string, from: string | Buffer): Promise<Descriptor> {
  mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  if (typeof from === 'string') {
    const digest = await fileDigest(from);
    const size = statSync(from).size;
    renameSync(from, blobPath(layout, digest));
    return { mediaType: '', digest, size };
  }
  const digest = `sha256:${createHash('sha256').update(from).digest('hex')}`;
  writeFileSync(blobPath(layout, digest), from);
  return { mediaType: '', digest, size: from.length };
}

/** Finish an OCI layout: the manifest blob, `index.json` naming it `tag`, and `oci-layout`. */
export async function writeLayout(layout: string, manifest: Manifest, tag: string): Promise<void> {
  const m = await addBlob(layout, Buffer.from(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    manifests: [
      { mediaType: MANIFEST_MEDIA_TYPE, digest: m.digest, size: m.size, annotations: { [REF_NAME]: tag } },
    ],
  };
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
  writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/** A pulled artifact that is not what it says: the entry is not used. */
export class CorruptArtifactError extends Error {
  override name = 'CorruptArtifactError';
}

/** A pulled artifact, checked: its config and the path of its (digest-checked) layer. */
export interface CheckedArtifact {
  config: ArtifactConfig;
  layer: string;
  layerBytes: number;
}

/**
 * Read the artifact `tag` of an OCI layout and check it before use: the manifest, config and layer
 * each match the digest and size that name them, the media types are ib-native's, and the config
 * describes the entry asked for. Throws CorruptArtifactError otherwise.
 */
export async function checkArtifact(
  layout: string,
  tag: string,
  want: { kind: string; key: string },
): Promise<CheckedArtifact> {
  const fail = (why: string): never => {
    throw new CorruptArtifactError(`artifact ${tag}: ${why}`);
  };
  const blob = async (d: Descriptor, what: string): Promise<string> => {
    if (!/^sha256:[0-9a-f]{64}$/.test(String(d?.digest))) fail(`${what} has no sha256 digest`);
    const f = blobPath(layout, d.digest);
    if (!existsSync(f)) fail(`${what} blob ${d.digest} is missing`);
    const size = statSync(f).size;
    if (size !== d.size) fail(`${what} blob ${d.digest} is ${size} bytes, its descriptor says ${d.size}`);
    const got = await fileDigest(f);
    if (got !== d.digest) fail(`${what} blob does not match its digest: expected ${d.digest}, got ${got}`);
    return f;
  };
  const parse = <T>(text: string, what: string): T => {
    try {
      return JSON.parse(text) as T;
    } catch {
      return fail(`${what} is not JSON`);
    }
  };
  const indexFile = path.join(layout, 'index.json');
  if (!existsSync(indexFile)) fail('the layout has no index.json');
  const index = parse<{ manifests?: Descriptor[] }>(readFileSync(indexFile, 'utf8'), 'index.json');
  const named = (index.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] === tag);
  if (named.length !== 1) fail(`index.json names ${named.length} manifests ${tag}`);
  const manifest = parse<Manifest>(readFileSync(await blob(named[0]!, 'manifest'), 'utf8'), 'the manifest');
  if (manifest.config?.mediaType !== CONFIG_MEDIA_TYPE)
    fail(`its config is ${manifest.config?.mediaType}, not an ib-native cache entry`);
  if (manifest.layers?.length !== 1 || manifest.layers[0]!.mediaType !== LAYER_MEDIA_TYPE)
    fail('it does not have exactly one ib-native layer');
  const config = parse<ArtifactConfig>(
    readFileSync(await blob(manifest.config, 'config'), 'utf8'),
    'the config',
  );
  if (config.kind !== want.kind || config.key !== want.key)
    fail(`it holds ${config.kind} ${config.key}, not ${want.kind} ${want.key}`);
  if (Number.isNaN(Date.parse(config.createdAt))) fail('its config has no creation time');
  const layer = await blob(manifest.layers[0]!, 'layer');
  return { config, layer, layerBytes: manifest.layers[0]!.size };
}

/** Why a skopeo run failed, from its output: decides between a warning and a quiet miss. */
export type RegistryFailure = 'missing' | 'unreachable' | 'corrupt' | 'denied' | 'failed';

export function classifyRegistryFailure(output: string): RegistryFailure {
  if (/digest did not match|size mismatch|digest mismatch/i.test(output)) return 'corrupt';
  // the first request failed: whatever status follows is not about the entry
  if (/pinging container registry/i.test(output)) return 'unreachable';
  if (/manifest unknown|name unknown|not found|404/i.test(output)) return 'missing';
  if (/unauthorized|authentication required|denied|forbidden|\b401\b|\b403\b/i.test(output)) return 'denied';
  if (
    /connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|server misbehaving|tls|x509|certificate|server gave HTTP response|EOF|timeout|pinging container registry/i.test(
      output,
    )
  )
    return 'unreachable';
  return 'failed';
}
