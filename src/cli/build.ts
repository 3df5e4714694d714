import path from 'node:path';
import type { BuildOptions } from '../build.ts';
import { checkBuildInputs } from '../build-inputs.ts';
import { buildBundle } from '../bundle.ts';
import { displayMode, openDisplay } from '../display/index.ts';
import { parseSuiteMirrors } from '../distro/mirrors.ts';
import { EXIT, InterruptedError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import type { DistroName } from '../profile/schema.ts';
import { netEnv, PROXY_ENV, proxySecrets } from '../proxy.ts';
import { BuildReporter } from '../reporter.ts';
import { interruptibleRunner } from '../run/interrupt.ts';
import { debugShellHook } from '../shell/debug.ts';
import type { BuildPlan } from '../stages/plan.ts';
import { Publication } from '../sys/files.ts';
import { realPath } from '../sys/mounts.ts';
import { insideNamespace, reexecInNamespace } from '../sys/namespace.ts';
import { parseFormats, requireRoot } from './args.ts';
import { report } from './report.ts';

/** `ib-native build`: one profile or a bundle, in the build's own mount namespace. */

export async function runBuild(argv: Record<string, unknown>): Promise<number> {
  requireRoot('build');
  if (!insideNamespace()) return reexecInNamespace();
  // a reader that goes away (`| head`, a closed terminal) must not stop the cleanup
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // real paths, once: mount tables never show links, and every mount and removal compares with them
  const cacheDir = realPath(String(argv.cacheDir));
  const profiles = (argv.profile as string[]).map(String);
  const logFile = (name: string) =>
    path.join(
      cacheDir,
      'logs',
      `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`,
    );
  const display = openDisplay(
    displayMode({ json: Boolean(argv.json), isTTY: Boolean(process.stderr.isTTY), env: process.env }),
    { verbose: Boolean(argv.verbose) },
  );
  const env = netEnv({
    // the outer process hands --proxy over in the environment, out of every argv (see sys/namespace.ts)
    proxy: (argv.proxy as string | undefined) ?? process.env[PROXY_ENV],
    noProxy: argv.noProxy as string | undefined,
  });
  const optionsFor = (profile: string): BuildOptions => ({
    profile,
    bootstrapper: argv.bootstrapper as 'debootstrap' | 'mmdebstrap' | undefined,
    fallbackMirrors: argv.mirrorFallback as string[] | undefined,
    overrides: {
      distro: argv.distro as DistroName | undefined,
      formats: parseFormats(argv.format as string | undefined),
      mirror: argv.mirror as string | undefined,
      mirrors: parseSuiteMirrors(argv.suiteMirror as string[] | undefined),
    },
    outputDir: realPath(String(argv.output)),
    cacheDir,
    noCache: Boolean(argv.noCache),
    cacheFrom: optionalString(argv.cacheFrom),
    cacheTo: optionalString(argv.cacheTo),
    refresh: Boolean(argv.refresh),
    maxAgeDays: argv.maxAge as number | undefined,
    blockDevice: argv.blockDevice as 'loop' | 'nbd' | undefined,
    userData: argv.userData as string | undefined,
    metaData: argv.metaData as string | undefined,
    networkData: argv.networkData as string | undefined,
    sites: ((argv.site as string[] | undefined) ?? []).map(String),
    netEnv: env,
    signKey: argv.signKey as string | undefined,
    // one profile at a time with --debug-shell: no other build writes over the shell
    jobs: argv.debugShell ? 1 : (argv.jobs as number | undefined),
  });
  const secrets = proxySecrets(env);
  const reporterFor = (profile: string, logFile?: string) =>
    new BuildReporter({ profile, sink: display.sink, logFile, secrets, verbose: Boolean(argv.verbose) });
  // bad input fails here, before a log file, a cache entry or an output folder is written
  let plans: BuildPlan[];
  try {
    plans = await checkBuildInputs(profiles.map(optionsFor));
  } catch (e) {
    reporterFor(profiles[0]!).fail(e);
    display.close();
    return report(e, undefined, secrets);
  }
  let reporter: BuildReporter | undefined;
  // the runner's own warnings (a signal, a retry) go to the reporter of the build under way
  const session = interruptibleRunner({ ...silentLogger, warn: (m) => reporter?.warn(m) });
  const { runner, interrupted } = session;
  // --debug-shell: the live display stops before the shell takes the terminal
  const onFailure = argv.debugShell
    ? debugShellHook({ netEnv: env, interrupted, beforeOpen: () => display.close() })
    : undefined;
  // every profile's outputs are staged, then published together: all of the bundle or nothing
  const publication = new Publication();
  try {
    const reporters: BuildReporter[] = [];
    const results = await buildBundle(
      // each build runs the plan checked above (made once)
      profiles.map((p, i) => ({ ...optionsFor(p), onFailure, plan: plans[i] })),
      {
        runner,
        interrupted,
        publication,
        reporterFor: (o, i) => {
          const name = plans[i]?.profile.name;
          const r = reporterFor(name ?? o.profile, logFile(name ?? 'build'));
          reporters[i] = r;
          reporter ??= r;
          return r;
        },
        onError: (i) => {
          reporter = reporters[i] ?? reporter;
        },
      },
    );
    const stoppedBy = interrupted();
    if (stoppedBy) throw new InterruptedError(stoppedBy);
    publication.commit();
    display.close();
    // for scripts: the paths on stdout (a terminal has them in the summary already)
    if (display.mode !== 'json' && !process.stdout.isTTY)
      for (const r of results)
        process.stdout.write(`${[...r.outputs.map((o) => o.path), r.manifest].join('\n')}\n`);
    return 0;
  } catch (e) {
    display.close();
    const stoppedBy = interrupted();
    if (stoppedBy) {
      process.stderr.write(
        `interrupted by ${stoppedBy}; mounts, devices and partial files were cleaned up\n`,
      );
      return EXIT.interrupted;
    }
    const code = report(e, reporter, secrets);
    if (reporter?.logFile) process.stderr.write(`full log: ${reporter.logFile}\n`);
    return code;
  } finally {
    publication.discard();
    session.release();
  }
}

/** A string option's value; an empty one (an unset variable in a script) counts as not given. */
function optionalString(v: unknown): string | undefined {
  return v === undefined || v === '' ? undefined : String(v);
}
