import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { BuildOptions } from './build.ts';
import { checkBuildInputs } from './build-inputs.ts';
import { buildBundle } from './bundle.ts';
import { DEFAULT_CACHE_DIR } from './cache/store.ts';
import { profileCompletions } from './cli/completion.ts';
import { diffCommandModule } from './cli/diff.ts';
import { inspectCommandModule } from './cli/inspect.ts';
import { profilesCommandModule } from './cli/profiles.ts';
import { bootCommand, cacheCommand, doctorCommand, planCommand } from './commands.ts';
import { displayMode, openDisplay } from './display/index.ts';
import { plainText } from './display/text.ts';
import {
  CommandError,
  EXIT,
  exitCodeFor,
  exitCodesHelp,
  hintOf,
  InterruptedError,
  UserError,
} from './errors.ts';
import { type Logger, redact, silentLogger } from './log.ts';
import { DISTROS, type DistroName, FORMATS, type Format } from './profile/schema.ts';
import { netEnv, proxySecrets } from './proxy.ts';
import { BuildReporter } from './reporter.ts';
import { interruptibleRunner } from './run/interrupt.ts';
import { debugShellHook } from './shell/debug.ts';
import { Publication } from './sys/files.ts';
import { insideNamespace, reexecInNamespace } from './sys/namespace.ts';

/**
 * The command line. The only place that prints errors and exits the process.
 */

function parseFormats(v: string | undefined): Format[] | undefined {
  if (!v) return undefined;
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of list)
    if (!(FORMATS as readonly string[]).includes(f))
      throw new UserError(
        `--format: unknown format "${f}"`,
        `use one or more of: ${FORMATS.join(', ')} (comma-separated)`,
      );
  return list as Format[];
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0)
    throw new UserError(
      `${what} needs root (it mounts filesystems and attaches loop devices)`,
      `run it with sudo: sudo ib-native ${what} ...`,
    );
}

function report(err: unknown, logger?: Logger, secrets: readonly string[] = []): number {
  const code = exitCodeFor(err);
  const e = err as Error;
  const known =
    err instanceof UserError || err instanceof CommandError || err instanceof InterruptedError || code === 4;
  // tool output in an error may carry escape sequences or \r redraws: none reach a pipe
  const say = (text: string) => {
    const safe = redact(text, secrets);
    process.stderr.write(process.stderr.isTTY ? safe : plainText(safe));
  };
  if (known) say(`error: ${e.message}\n`);
  else say(`internal error (please report): ${e?.stack ?? String(err)}\n`);
  const hint = hintOf(err);
  if (hint) say(`hint: ${hint}\n`);
  logger?.debug(`failed: ${e?.stack ?? String(err)}`);
  return code;
}

async function runBuild(argv: Record<string, unknown>): Promise<number> {
  requireRoot('build');
  if (!insideNamespace()) return reexecInNamespace();
  // a reader that goes away (`| head`, a closed terminal) must not stop the cleanup
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const cacheDir = path.resolve(String(argv.cacheDir));
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
    proxy: argv.proxy as string | undefined,
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
    },
    outputDir: String(argv.output),
    cacheDir,
    noCache: Boolean(argv.noCache),
    refresh: Boolean(argv.refresh),
    maxAgeDays: argv.maxAge as number | undefined,
    blockDevice: argv.blockDevice as 'loop' | 'nbd' | undefined,
    userData: argv.userData as string | undefined,
    metaData: argv.metaData as string | undefined,
    networkData: argv.networkData as string | undefined,
    netEnv: env,
    signKey: argv.signKey as string | undefined,
    // one profile at a time with --debug-shell: no other build writes over the shell
    jobs: argv.debugShell ? 1 : (argv.jobs as number | undefined),
  });
  const secrets = proxySecrets(env);
  const reporterFor = (profile: string, logFile?: string) =>
    new BuildReporter({ profile, sink: display.sink, logFile, secrets, verbose: Boolean(argv.verbose) });
  // bad input fails here, before a log file, a cache entry or an output folder is written
  let names: string[];
  try {
    names = await checkBuildInputs(profiles.map(optionsFor));
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
      profiles.map((p) => ({ ...optionsFor(p), onFailure })),
      {
        runner,
        interrupted,
        publication,
        reporterFor: (o, i) => {
          const r = reporterFor(names[i] ?? o.profile, logFile(names[i] ?? 'build'));
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

export async function main(args: string[]): Promise<number> {
  const profileWords = profileCompletions(args);
  if (profileWords) {
    for (const w of profileWords) process.stdout.write(`${w}\n`);
    return EXIT.ok;
  }
  let code = 0;
  const cli = yargs(args)
    .scriptName('ib-native')
    // --no-cache and --no-proxy are options of their own, not negations of --cache/--proxy
    .parserConfiguration({ 'boolean-negation': false })
    .strict()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'show every command as it runs' })
    .option('cache-dir', {
      type: 'string',
      default: process.env.IB_NATIVE_CACHE ?? DEFAULT_CACHE_DIR,
      describe: 'stage and package cache',
    })
    .command(
      'build',
      'build images from a profile',
      (y) =>
        y
          .option('profile', {
            alias: 'p',
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'profile name (profiles/) or path to .ts/.yaml/.json; repeat for a bundle',
          })
          .option('distro', {
            type: 'string',
            choices: DISTROS as unknown as string[],
            describe: "override the profile's distro",
          })
          .option('format', {
            type: 'string',
            describe: 'iso, qcow2 or iso,qcow2 (default: the profile formats)',
          })
          .option('output', { alias: 'o', type: 'string', default: './out', describe: 'output folder' })
          .option('mirror', { type: 'string', describe: 'replace the distro mirror (local or air-gapped)' })
          .option('user-data', { type: 'string', describe: 'ISO config drive: openstack/latest/user_data' })
          .option('meta-data', {
            type: 'string',
            describe: 'ISO config drive: meta_data.json (generated when absent)',
          })
          .option('network-data', { type: 'string', describe: 'ISO config drive: network_data.json' })
          .option('block-device', {
            type: 'string',
            choices: ['loop', 'nbd'],
            describe: 'how the QCOW2 disk is attached (default: nbd when available, else loop)',
          })
          .option('mirror-fallback', {
            type: 'string',
            array: true,
            describe: 'mirror(s) to try when the distro mirror fails while bootstrapping',
          })
          .option('bootstrapper', {
            type: 'string',
            choices: ['debootstrap', 'mmdebstrap'],
            describe:
              'how the base system is made (default: mmdebstrap when installed, else debootstrap; see README "Benchmark")',
          })
          .option('sign-key', {
            type: 'string',
            describe: 'gpg key that signs each image into <image>.asc (GNUPGHOME is honoured)',
          })
          .option('jobs', {
            alias: 'j',
            type: 'number',
            describe: 'bundles: how many profiles configure and pack at once (default: 2, or cores/2)',
          })
          .option('no-cache', { type: 'boolean', describe: 'build from nothing, touching no cache' })
          .option('refresh', {
            type: 'boolean',
            describe: 'rebuild the rootfs to pick up new package versions',
          })
          .option('max-age', {
            type: 'number',
            default: 7,
            describe: 'rebuild a cached rootfs older than this many days',
          })
          .option('proxy', { type: 'string', describe: 'HTTP proxy for downloads (default: $http_proxy)' })
          .option('no-proxy', {
            type: 'string',
            describe: 'hosts that bypass the proxy (default: $no_proxy)',
          })
          .option('debug-shell', {
            type: 'boolean',
            describe:
              'on failure, open a shell in the tree being built before cleaning up (needs a terminal)',
          })
          .example('sudo $0 build -p ./site.ts --debug-shell', 'a failing step opens a shell where it failed')
          .option('json', {
            type: 'boolean',
            describe: 'newline-delimited JSON events on stdout (stages, progress, result or error)',
          })
          .example('sudo $0 build -p minimal --distro debian-bookworm', 'ISO and QCOW2 into ./out')
          .example('sudo $0 build -p ./site.yaml --format qcow2 -o /srv/images', 'a profile file of your own')
          .example('sudo $0 build -p worker -p control-plane', 'two profiles in one run')
          .example('sudo $0 build -p ephemeral --user-data ./user_data', "fill the ISO's config drive")
          .example(
            'sudo $0 build -p minimal --json | jq -c \'select(.type=="progress")\'',
            'machine-readable events',
          ),
      async (a) => {
        code = await runBuild(a as Record<string, unknown>);
      },
    )
    .command(
      'shell',
      "open a shell in a profile's configured tree, mounted as a build mounts it; changes are discarded",
      (y) =>
        y
          .option('profile', {
            alias: 'p',
            type: 'string',
            demandOption: true,
            describe: 'profile name or path',
          })
          .option('distro', { type: 'string', choices: DISTROS as unknown as string[] })
          .option('format', {
            type: 'string',
            choices: FORMATS as unknown as string[],
            describe: "also apply that image's layer and finalize, as the image has them",
          })
          .option('mirror', {
            type: 'string',
            describe: 'replace the distro mirror (if the rootfs is built)',
          })
          .example('sudo $0 shell -p minimal --distro debian-bookworm', 'look around the configured tree')
          .example('sudo $0 shell -p worker --format qcow2', 'the tree as the QCOW2 gets it (finalized)'),
      async (a) => {
        requireRoot('shell');
        if (!insideNamespace()) {
          code = await reexecInNamespace();
          return;
        }
        const { shellCommand } = await import('./shell/shell.ts');
        code = await shellCommand({
          profile: a.profile,
          distro: a.distro as DistroName | undefined,
          format: a.format as Format | undefined,
          mirror: a.mirror,
          cacheDir: path.resolve(String(a.cacheDir)),
          netEnv: netEnv({}),
          verbose: Boolean(a.verbose),
        });
      },
    )
    .command(
      'plan',
      'print the resolved profile and every operation a build would run (no root, no network)',
      (y) =>
        y
          .option('profile', { alias: 'p', type: 'string', demandOption: true })
          .option('distro', { type: 'string', choices: DISTROS as unknown as string[] })
          .option('format', { type: 'string' })
          .option('json', { type: 'boolean' })
          .example('$0 plan -p minimal --distro debian-bookworm', 'what a build would do, as text')
          .example('$0 plan -p ./site.yaml --json', 'the resolved profile and operations as JSON'),
      async (a) => {
        code = await planCommand({
          cacheDir: path.resolve(String(a.cacheDir)),
          profile: a.profile,
          distro: a.distro as DistroName | undefined,
          formats: parseFormats(a.format),
          json: Boolean(a.json),
        });
      },
    )
    .command(
      'boot <image>',
      'boot an image in QEMU and wait for login: on the serial console',
      (y) =>
        y
          .positional('image', { type: 'string', demandOption: true })
          .option('firmware', { type: 'string', choices: ['bios', 'uefi'], default: 'bios' })
          .option('timeout', { type: 'number', default: 300, describe: 'seconds' })
          .option('seed', {
            type: 'string',
            describe: 'folder with user-data/meta-data, attached as a NoCloud seed',
          })
          .option('expect', {
            type: 'string',
            array: true,
            describe: 'also wait for these strings on the console',
          })
          .option('console-log', { type: 'string', describe: 'write the whole console to this file' })
          .option('memory', { type: 'number', default: 2048, describe: 'MiB' })
          .option('console', {
            type: 'boolean',
            conflicts: 'expect',
            describe: 'attach the serial console to this terminal; Ctrl-] detaches and stops QEMU',
          })
          .example('sudo $0 boot out/minimal.qcow2 --firmware uefi', 'boot the disk with OVMF until login:')
          .example(
            'sudo $0 boot out/minimal.iso --expect "Cloud-init" --console-log console.txt',
            'also wait for a text; keep the whole console',
          )
          .example('$0 boot out/minimal.qcow2 --console', 'type into the guest; Ctrl-] to leave'),
      async (a) => {
        code = await bootCommand({
          image: a.image!,
          firmware: a.firmware as 'bios' | 'uefi',
          timeoutSec: a.timeout,
          seedDir: a.seed,
          expect: (a.expect ?? []).map(String),
          consoleLog: a.consoleLog,
          memoryMiB: a.memory,
          verbose: Boolean(a.verbose),
          console: Boolean(a.console),
        });
      },
    )
    .command(
      'doctor',
      'check the host tools a build needs',
      (y) =>
        y.example(
          '$0 doctor',
          `what is missing, and the apt-get line that installs it (exit ${EXIT.hostNotReady})`,
        ),
      async (a) => {
        code = await doctorCommand(path.resolve(String(a.cacheDir)));
      },
    )
    .command(
      'cache <action>',
      'list or prune the stage cache',
      (y) =>
        y
          .positional('action', { choices: ['list', 'prune'] as const, demandOption: true })
          .option('older-than', { type: 'number', describe: 'prune: entries older than this many days' })
          .option('all', { type: 'boolean', describe: 'prune: everything, package cache included' })
          .example('$0 cache list', 'entries with key, size, age and the profiles that used them')
          .example('sudo $0 cache prune --older-than 14', 'remove entries older than two weeks'),
      async (a) => {
        code = await cacheCommand({
          action: a.action as 'list' | 'prune',
          cacheDir: String(a.cacheDir),
          olderThan: a.olderThan,
          all: Boolean(a.all),
        });
      },
    )
    .command(
      'import-airship <dir>',
      "write profiles from Airship image-builder manifests (rootfs/, qcow-bundle*/), listing what they can't express",
      (y) =>
        y
          .positional('dir', { type: 'string', demandOption: true, describe: 'the manifests folder' })
          .option('out', { type: 'string', default: './airship-profiles', describe: 'where the profiles go' })
          .option('base', { type: 'string', default: 'base', describe: 'profile airship-base extends' })
          .example(
            '$0 import-airship ../image-builder/manifests --base worker',
            'write ./airship-profiles/*.yaml, then check one with plan',
          ),
      async (a) => {
        const { importAirshipCommand } = await import('./import/command.ts');
        code = await importAirshipCommand({ dir: a.dir!, out: a.out, base: a.base });
      },
    )
    .command(profilesCommandModule((c) => (code = c)))
    .command(diffCommandModule((c) => (code = c)))
    .command(inspectCommandModule((c) => (code = c)))
    .command(
      'completion',
      'print a bash or zsh completion script (for the shell in $SHELL)',
      (y) =>
        y
          .example('$0 completion >> ~/.bashrc', 'bash: complete commands, options and profile names')
          .example('SHELL=zsh $0 completion >> ~/.zshrc', 'zsh'),
      () => {
        cli.showCompletionScript();
      },
    )
    .example('sudo $0 build -p minimal --distro debian-bookworm', 'build the smallest image')
    .example('$0 <command> --help', "a command's options and examples")
    .epilogue(exitCodesHelp())
    .demandCommand(
      1,
      'say what to do: build, shell, boot, plan, profiles, diff, inspect, doctor, cache (see --help)',
    )
    .fail((msg, err) => {
      throw err ?? new UserError(msg, 'see `ib-native --help`');
    })
    .help();
  try {
    await cli.parseAsync();
  } catch (e) {
    return report(e);
  }
  return code;
}

export { report };

const isMain = process.argv[1] && /ib-native(\.mjs)?$|cli\.ts$/.test(process.argv[1]);
if (isMain) {
  main(hideBin(process.argv)).then(
    (c) => process.exit(c),
    (e) => process.exit(report(e)),
  );
}
