import { spawn } from 'node:child_process';
import path from 'node:path';
import { CommandError, InternalError, InterruptedError, UserError } from './errors.ts';
import { type BuildEvent, type ErrorEvent, parseEvent, type ResultEvent } from './events.ts';
import { REPO_ROOT } from './package.ts';
import type { DistroName, Format } from './profile/schema.ts';
import { NS_ENV } from './sys/namespace.ts';

/**
 * The programmatic build: `import { build } from 'ib-native'`.
 *
 * A build mounts filesystems and attaches loop devices, so it needs root, and ib-native keeps
 * every mount in a private mount namespace that dies with the build. A Node process cannot
 * move itself into a new mount namespace, so `build()` runs `ib-native build --json` as a child
 * process (which enters its namespace exactly as the CLI does), reads its events, hands each to
 * `onEvent`, and resolves with the result event or rejects with the error it reports (the same
 * `UserError`, `CommandError`, `InterruptedError` classes the CLI prints). Nothing is mounted in
 * the caller's namespace; killing the caller kills the build, which cleans up.
 */
export interface BuildApiOptions {
  /** A name from profiles/ or a path to a .ts/.yaml/.json profile. */
  profile: string;
  distro?: DistroName;
  formats?: Format[];
  /** Output folder (default ./out, relative to `cwd`). */
  output?: string;
  cacheDir?: string;
  mirror?: string;
  /** Per suite (an updates or the security suite) -> URL: `--suite-mirror SUITE=URL`. */
  suiteMirrors?: Record<string, string>;
  mirrorFallback?: string[];
  bootstrapper?: 'debootstrap' | 'mmdebstrap';
  blockDevice?: 'loop' | 'nbd';
  userData?: string;
  metaData?: string;
  networkData?: string;
  /** One ISO per site folder: `--site DIR` each. */
  sites?: string[];
  noCache?: boolean;
  /** A registry repository (`host[:port]/path`) missing cache entries are pulled from. */
  cacheFrom?: string;
  /** A registry repository the build's cache entries are pushed to. */
  cacheTo?: string;
  refresh?: boolean;
  maxAgeDays?: number;
  proxy?: string;
  noProxy?: string;
  signKey?: string;
  /** Also emit `debug` log events (every command as it starts). */
  verbose?: boolean;
  /** Every event of the build, as `--json` prints them. */
  onEvent?: (e: BuildEvent) => void;
  /** Aborting stops the build (SIGTERM); it cleans up and the promise rejects with InterruptedError. */
  signal?: AbortSignal;
  /** Working folder of the build (relative paths resolve against it); default process.cwd(). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** The command line for a build (pure). */
export function buildArgv(o: BuildApiOptions): string[] {
  const flag = (name: string, v: string | number | undefined) =>
    v === undefined ? [] : [`--${name}`, String(v)];
  const on = (name: string, v: boolean | undefined) => (v ? [`--${name}`] : []);
  return [
    ...flag('cache-dir', o.cacheDir),
    'build',
    '--json',
    ...flag('profile', o.profile),
    ...flag('distro', o.distro),
    ...flag('format', o.formats?.join(',')),
    ...flag('output', o.output),
    ...flag('mirror', o.mirror),
    ...Object.entries(o.suiteMirrors ?? {}).flatMap(([suite, url]) =>
      flag('suite-mirror', `${suite}=${url}`),
    ),
    ...(o.mirrorFallback ?? []).flatMap((m) => flag('mirror-fallback', m)),
    ...flag('bootstrapper', o.bootstrapper),
    ...flag('block-device', o.blockDevice),
    ...flag('user-data', o.userData),
    ...flag('meta-data', o.metaData),
    ...flag('network-data', o.networkData),
    ...(o.sites ?? []).flatMap((d) => flag('site', d)),
    ...on('no-cache', o.noCache),
    ...flag('cache-from', o.cacheFrom),
    ...flag('cache-to', o.cacheTo),
    ...on('refresh', o.refresh),
    ...flag('max-age', o.maxAgeDays),
    ...flag('proxy', o.proxy),
    ...flag('no-proxy', o.noProxy),
    ...flag('sign-key', o.signKey),
    ...on('verbose', o.verbose),
  ];
}

/** The error an error event stands for (pure): the class the CLI would have printed. */
export function errorFromEvent(e: ErrorEvent): Error {
  if (e.kind === 'interrupted') return new InterruptedError(/by (\w+)/.exec(e.message)?.[1] ?? 'a signal');
  if (e.kind === 'command' && e.command) {
    const err = new CommandError(e.command, e.commandExitCode, e.outputTail ?? '', e.signal, e.context);
    // the build's own words (a program not found says so) and what to do
    return Object.assign(err, { message: e.message }, e.hint ? { hint: e.hint } : {});
  }
  if (e.kind === 'input') return new UserError(e.message, e.hint);
  const err = new InternalError(e.message);
  if (e.hint) Object.assign(err, { hint: e.hint });
  return err;
}

export function build(o: BuildApiOptions): Promise<ResultEvent> {
  if (process.getuid?.() !== 0)
    return Promise.reject(
      new UserError(
        'build needs root (it mounts filesystems and attaches loop devices)',
        'run the program that calls build() as root',
      ),
    );
  const env = { ...(o.env ?? process.env) };
  delete env[NS_ENV]; // the child always enters a namespace of its own
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/ib-native.mjs'), ...buildArgv(o)], {
    cwd: o.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) stop();
  let result: ResultEvent | undefined;
  let failure: ErrorEvent | undefined;
  let stderr = '';
  let rest = '';
  let bad: Error | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let e: BuildEvent;
      try {
        e = parseEvent(JSON.parse(line));
      } catch (err) {
        bad ??= new InternalError(`unreadable event from ib-native: ${line}: ${(err as Error).message}`);
        continue;
      }
      if (e.type === 'result') result = e;
      if (e.type === 'error') failure = e;
      o.onEvent?.(e);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', stop);
      if (failure) reject(errorFromEvent(failure));
      else if (code === 0 && result) resolve(result);
      else
        reject(
          bad ??
            new InternalError(
              `ib-native build ended (${signal ?? `exit code ${code}`}) without a result:\n${stderr.trim()}`,
            ),
        );
    });
  });
}
