// Over 300 lines: pull and push share the registry calls, the wording of each failure and the
// scratch layouts; the pure parts (reference grammar, artifact, checks) are in oci.ts and kinds.ts.
/**
 * The remote stage cache (`--cache-from` / `--cache-to`): entries pulled from and pushed to an OCI
 * registry with skopeo, as artifacts of `oci.ts`. A registry is a help, never a requirement: a
 * missing entry is built, and an unreachable registry, a refused login or a corrupt artifact is a
 * warning and a local build. What is pulled is used only after every blob matched its digest.
 * A push uploads the blobs first and the manifest last, so a tag names a complete entry or none.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { InterruptedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type Runner, tail } from '../run/runner.ts';
import { removeTree } from '../sys/files.ts';
import { entryShapeProblem } from './kinds.ts';
import {
  type ArtifactConfig,
  addBlob,
  type CacheRef,
  CorruptArtifactError,
  checkArtifact,
  classifyRegistryFailure,
  entryManifest,
  entryTag,
  imageName,
  parseCacheRef,
  type RegistryFailure,
  writeLayout,
} from './oci.ts';

/** What the remote cache needs to know of a local entry (its entry.json). */
export interface LocalEntry {
  kind: string;
  key: string;
  createdAt: string;
  summary: string;
  bytes?: number;
}

export interface RemoteCacheOptions {
  from?: CacheRef;
  to?: CacheRef;
  /** Scratch space for OCI layouts (inside the cache's work folder). */
  workDir: string;
  runner: Runner;
  logger: Logger;
  /** ib-native's version, recorded in what it pushes. */
  version: string;
}

/** Registry calls that hang (a black-holed host) give up after this long; copies after an hour. */
const INSPECT_TIMEOUT_MS = 60_000;
const COPY_TIMEOUT_MS = 60 * 60_000;

/** GNU tar's flags that keep a tree as it is: owners by number, modes, xattrs (capabilities), ACLs. */
const TAR_KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

/** skopeo's TLS flag for a registry (`src`/`dest` of a copy, or none for inspect). */
export function tlsFlags(ref: CacheRef, side: 'src' | 'dest' | 'inspect'): string[] {
  if (!ref.plainHttp) return [];
  return [side === 'inspect' ? '--tls-verify=false' : `--${side}-tls-verify=false`];
}

/** argv of the tar that packs an entry's files (all but entry.json) into a zstd layer. */
export function packArgv(entryDir: string, members: readonly string[], out: string): string[] {
  return [
    'tar',
    '--create',
    `--file=${out}`,
    `--directory=${entryDir}`,
    ...TAR_KEEP,
    '--sparse',
    '--use-compress-program=zstd -T0 -3',
    '--',
    ...members,
  ];
}

/** argv of the tar that unpacks a checked layer into an entry folder, as root, keeping owners. */
export function unpackArgv(layer: string, into: string): string[] {
  return [
    'tar',
    '--extract',
    `--file=${layer}`,
    `--directory=${into}`,
    ...TAR_KEEP,
    '--same-owner',
    '--same-permissions',
    '--zstd',
  ];
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class RemoteCache {
  /** Registries found unreachable during this build: asked nothing more. */
  private readonly down = new Set<string>();

  constructor(private readonly o: RemoteCacheOptions) {}

  /**
   * The entry `kind`/`key` from `--cache-from`, unpacked into `into` (an empty folder): its config,
   * or undefined when it was not used (missing, older than `maxAgeMs`, unreachable, corrupt).
   */
  async pull(
    kind: string,
    key: string,
    into: string,
    maxAgeMs?: number,
  ): Promise<ArtifactConfig | undefined> {
    const ref = this.o.from;
    if (!ref || this.down.has(ref.registry)) return undefined;
    const tag = entryTag(kind, key);
    const found = await this.remoteConfig(ref, tag, 'cache-from');
    if (!found) return undefined;
    const age = Date.now() - Date.parse(found.createdAt);
    if (maxAgeMs !== undefined && age > maxAgeMs) {
      this.o.logger.info(
        `cache-from: ${kind} ${key} in ${ref.ref} is ${(age / 86400000).toFixed(1)} days old (--max-age); building it`,
      );
      return undefined;
    }
    const failed = async (why: string) => {
      // whatever was unpacked goes (removed without following a link in it)
      await removeTree(this.o.runner, into);
      mkdirSync(into);
      this.o.logger.warn(`cache-from: pulling ${kind} ${key} failed (${why}); building it`);
    };
    return this.inScratch(
      `pull-${tag}`,
      async (layout) => {
        const started = Date.now();
        const copied = await this.skopeo(
          ref,
          'cache-from',
          [
            'copy',
            '--retry-times',
            '2',
            ...tlsFlags(ref, 'src'),
            imageName(ref, tag),
            `oci:${path.basename(layout)}:${tag}`,
          ],
          path.dirname(layout),
          COPY_TIMEOUT_MS,
          `${kind} ${key}`,
        );
        if (copied === undefined) return undefined;
        let art: Awaited<ReturnType<typeof checkArtifact>>;
        try {
          art = await checkArtifact(layout, tag, { kind, key });
        } catch (e) {
          if (!(e instanceof CorruptArtifactError)) throw e;
          this.o.logger.warn(
            `cache-from: ${kind} ${key} from ${ref.ref} is corrupt (${e.message}); not used, building it`,
          );
          return undefined;
        }
        // a layer that matched its digest but does not unpack, or is not shaped like a local entry of
        // its kind: whoever pushed it wrote a bad one (or a hostile one); `into` is emptied, never
        // anything a link in it leads to
        const refuse = async (why: string) => {
          await removeTree(this.o.runner, into);
          mkdirSync(into);
          this.o.logger.warn(`cache-from: ${kind} ${key} from ${ref.ref} ${why}; not used, building it`);
          return undefined;
        };
        try {
          await this.o.runner.run(unpackArgv(art.layer, into), {
            context: `unpacking ${kind} ${key} from ${ref.ref}`,
          });
        } catch (e) {
          if (e instanceof InterruptedError) throw e;
          return refuse(`does not unpack (${firstLine(e)})`);
        }
        const problem = entryShapeProblem(kind, into);
        if (problem) return refuse(`is not a ${kind} entry: ${problem}`);
        this.o.logger.info(
          `cache-from: pulled ${kind} ${key} from ${ref.ref} (${mb(art.layerBytes)} in ${secs(Date.now() - started)}; made ${art.config.createdAt})`,
        );
        return art.config;
      },
      failed,
    );
  }

  /**
   * Push the local entry to `--cache-to` unless the registry has it already (made at the same time
   * or later). Never fails the build: a registry that cannot take it is a warning.
   */
  async push(entryDir: string, entry: LocalEntry): Promise<void> {
    const ref = this.o.to;
    if (!ref || this.down.has(ref.registry)) return;
    const { kind, key } = entry;
    const tag = entryTag(kind, key);
    const there = await this.remoteConfig(ref, tag, 'cache-to');
    if (this.down.has(ref.registry)) return;
    if (there && Date.parse(there.createdAt) >= Date.parse(entry.createdAt)) {
      this.o.logger.info(`cache-to: ${kind} ${key} is in ${ref.ref} already`);
      return;
    }
    const failed = (why: string) =>
      this.o.logger.warn(
        `cache-to: pushing ${kind} ${key} failed (${why}); the build goes on without pushing it`,
      );
    await this.inScratch(
      `push-${tag}`,
      async (layout) => {
        const started = Date.now();
        mkdirSync(layout, { recursive: true });
        const packed = path.join(layout, 'layer.tar.zst');
        const members = readdirSync(entryDir).filter((n) => n !== 'entry.json');
        await this.o.runner.run(packArgv(entryDir, members, packed), {
          context: `packing ${kind} ${key} for ${ref.ref}`,
        });
        const layer = await addBlob(layout, packed);
        const config: ArtifactConfig = {
          kind,
          key,
          createdAt: entry.createdAt,
          summary: entry.summary,
          bytes: entry.bytes,
          pushedBy: `ib-native ${this.o.version}`,
        };
        const configBlob = await addBlob(layout, Buffer.from(JSON.stringify(config)));
        await writeLayout(layout, entryManifest(configBlob, layer, entry.createdAt), tag);
        const pushed = await this.skopeo(
          ref,
          'cache-to',
          [
            'copy',
            '--preserve-digests',
            '--retry-times',
            '2',
            ...tlsFlags(ref, 'dest'),
            `oci:${path.basename(layout)}:${tag}`,
            imageName(ref, tag),
          ],
          path.dirname(layout),
          COPY_TIMEOUT_MS,
          `${kind} ${key}`,
        );
        if (pushed !== undefined)
          this.o.logger.info(
            `cache-to: pushed ${kind} ${key} to ${ref.ref} (${mb(layer.size)} in ${secs(Date.now() - started)})`,
          );
      },
      failed,
    );
  }

  /** The config of `tag` in the registry, or undefined (a miss said quietly, other failures warned). */
  private async remoteConfig(ref: CacheRef, tag: string, flag: string): Promise<ArtifactConfig | undefined> {
    const r = await this.skopeo(
      ref,
      flag,
      [
        'inspect',
        '--config',
        '--raw',
        '--retry-times',
        '1',
        ...tlsFlags(ref, 'inspect'),
        imageName(ref, tag),
      ],
      undefined,
      INSPECT_TIMEOUT_MS,
      tag.replace('-', ' '),
    );
    if (!r) return undefined;
    try {
      const c = JSON.parse(r) as ArtifactConfig;
      if (typeof c.createdAt === 'string' && !Number.isNaN(Date.parse(c.createdAt))) return c;
    } catch {
      // below
    }
    this.o.logger.warn(`${flag}: ${tag} in ${ref.ref} is not an ib-native cache entry; not used`);
    return undefined;
  }

  /** skopeo's stdout, or undefined when it failed (said here; interruptions go on up). */
  private async skopeo(
    ref: CacheRef,
    flag: string,
    args: string[],
    cwd: string | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<string | undefined> {
    try {
      return (await this.o.runner.run(['skopeo', ...args], { cwd, timeoutMs, context: `${flag} ${ref.ref}` }))
        .stdout;
    } catch (e) {
      if (e instanceof InterruptedError) throw e;
      const output = String((e as { stderrTail?: string }).stderrTail ?? (e as Error).message);
      this.sayFailure(classifyRegistryFailure(output), ref, flag, what, output);
      return undefined;
    }
  }

  private sayFailure(kind: RegistryFailure, ref: CacheRef, flag: string, what: string, output: string): void {
    const why = lastMessage(output);
    const after = flag === 'cache-from' ? `building ${what} locally` : 'the build goes on without pushing';
    switch (kind) {
      case 'missing':
        if (flag === 'cache-from')
          this.o.logger.info(`cache-from: ${what} is not in ${ref.ref}; building it`);
        return;
      case 'unreachable':
        this.down.add(ref.registry);
        this.o.logger.warn(
          `${flag}: cannot reach the registry ${ref.registry} (${why}); ${after}, and it is not asked again during this build${ref.plainHttp ? '' : ' (a registry without TLS must be marked insecure in /etc/containers/registries.conf)'}`,
        );
        return;
      case 'denied':
        this.down.add(ref.registry);
        this.o.logger.warn(
          `${flag}: ${ref.registry} refused access (${why}); ${after}, and it is not asked again during this build. Log in with skopeo login, podman login or docker login (the auth file is $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json)`,
        );
        return;
      case 'corrupt':
        this.o.logger.warn(`${flag}: ${what} in ${ref.ref} is corrupt (${why}); not used, ${after}`);
        return;
      default:
        this.o.logger.warn(`${flag}: skopeo failed for ${what} (${why}); ${after}`);
    }
  }

  /** Run `fn` with a fresh scratch folder for an OCI layout, removed afterwards whatever happens. */
  private async inScratch<T>(
    name: string,
    fn: (layout: string) => Promise<T | undefined>,
    failed: (why: string) => Promise<void> | void,
  ): Promise<T | undefined> {
    const dir = path.join(this.o.workDir, `remote-${process.pid}-${Date.now().toString(36)}`);
    try {
      mkdirSync(dir, { recursive: true });
      return await fn(path.join(dir, name));
    } catch (e) {
      // a full disk, a tar that fails: the remote cache is a help, the build goes on without it
      if (e instanceof InterruptedError) throw e;
      await failed(firstLine(e));
      return undefined;
    } finally {
      await removeTree(this.o.runner, dir);
    }
  }
}

/** The last meaningful line of skopeo's output (its `msg="..."` when it logged one). */
function lastMessage(output: string): string {
  const line = tail(output, 1);
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
  return (msg ?? line).replace(/\\"/g, '"').slice(0, 400);
}

function firstLine(e: unknown): string {
  return String((e as Error).message ?? e).split('\n')[0] ?? '';
}

/**
 * The remote cache of a build's `--cache-from`/`--cache-to` (checked already by checkBuildInputs),
 * or undefined when neither is given or the build touches no cache (`--no-cache`).
 */
export function remoteCacheOf(
  o: { cacheFrom?: string; cacheTo?: string; noCache?: boolean; cacheDir: string },
  runner: Runner,
  logger: Logger,
  version: string,
): RemoteCache | undefined {
  if (o.noCache || (o.cacheFrom === undefined && o.cacheTo === undefined)) return undefined;
  return new RemoteCache({
    from: o.cacheFrom === undefined ? undefined : parseCacheRef(o.cacheFrom, '--cache-from'),
    to: o.cacheTo === undefined ? undefined : parseCacheRef(o.cacheTo, '--cache-to'),
    workDir: path.join(o.cacheDir, 'work'),
    runner,
    logger,
    version,
  });
}
