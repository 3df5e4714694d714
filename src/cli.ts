import { mkdirSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type BuildOptions, build } from './build.ts';
import { checkBuildInputs } from './build-inputs.ts';
import { DEFAULT_CACHE_DIR } from './cache/store.ts';
import { bootCommand, cacheCommand, doctorCommand, planCommand } from './commands.ts';
import { CommandError, exitCodeFor, hintOf, InterruptedError, UserError } from './errors.ts';
import { consoleLogger, type Logger } from './log.ts';
import { DISTROS, type DistroName, FORMATS, type Format } from './profile/schema.ts';
import { netEnv, proxySecrets } from './proxy.ts';
import { processRunner } from './run/runner.ts';
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

function report(err: unknown, logger?: Logger): number {
  const code = exitCodeFor(err);
  const e = err as Error;
  const known =
    err instanceof UserError || err instanceof CommandError || err instanceof InterruptedError || code === 4;
  if (known) process.stderr.write(`error: ${e.message}\n`);
  else process.stderr.write(`internal error (please report): ${e?.stack ?? String(err)}\n`);
  const hint = hintOf(err);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  logger?.debug(`failed: ${e?.stack ?? String(err)}`);
  return code;
}

async function runBuild(argv: Record<string, unknown>): Promise<number> {
  requireRoot('build');
  if (!insideNamespace()) return reexecInNamespace();
  const cacheDir = path.resolve(String(argv.cacheDir));
  const profiles = (argv.profile as string[]).map(String);
  const logFile = path.join(
    cacheDir,
    'logs',
    `build-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`,
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
  });
  // bad input fails here, before a log file, a cache entry or an output folder is written
  await checkBuildInputs(profiles.map(optionsFor));
  mkdirSync(path.join(cacheDir, 'logs'), { recursive: true });
  const logger = consoleLogger({ verbose: Boolean(argv.verbose), file: logFile, secrets: proxySecrets(env) });
  let interrupted: string | undefined;
  const runner = processRunner({ logger, isInterrupted: () => interrupted });
  const onSignal = (sig: NodeJS.Signals) => {
    if (!interrupted) logger.warn(`${sig} received: stopping and cleaning up`);
    interrupted = sig;
    runner.killAll('SIGTERM');
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  // every profile's outputs are staged, then published together: all of the bundle or nothing
  const publication = new Publication();
  try {
    const done: string[] = [];
    for (const profile of profiles) {
      const r = await build(optionsFor(profile), {
        runner,
        logger,
        interrupted: () => interrupted,
        publication,
      });
      done.push(...r.outputs.map((o) => o.path), r.manifest);
      logger.info(
        `done: ${Object.entries(r.stages)
          .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
          .join(', ')}`,
      );
    }
    if (interrupted) throw new InterruptedError(interrupted);
    publication.commit();
    for (const f of done) process.stdout.write(`${f}\n`);
    return 0;
  } catch (e) {
    if (interrupted) {
      process.stderr.write(
        `interrupted by ${interrupted}; mounts, devices and partial files were cleaned up\n`,
      );
      return 130;
    }
    const code = report(e, logger);
    process.stderr.write(`full log: ${logFile}\n`);
    return code;
  } finally {
    publication.discard();
  }
}

export async function main(args: string[]): Promise<number> {
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
            describe: 'how the base system is made (default: mmdebstrap when installed)',
          })
          .option('sign-key', {
            type: 'string',
            describe: 'gpg key that signs each image into <image>.asc (GNUPGHOME is honoured)',
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
          }),
      async (a) => {
        code = await runBuild(a as Record<string, unknown>);
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
          .option('json', { type: 'boolean' }),
      async (a) => {
        code = await planCommand({
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
          .option('memory', { type: 'number', default: 2048, describe: 'MiB' }),
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
        });
      },
    )
    .command('doctor', 'check the host tools a build needs', {}, async () => {
      code = await doctorCommand();
    })
    .command(
      'cache <action>',
      'list or prune the stage cache',
      (y) =>
        y
          .positional('action', { choices: ['list', 'prune'] as const, demandOption: true })
          .option('older-than', { type: 'number', describe: 'prune: entries older than this many days' })
          .option('all', { type: 'boolean', describe: 'prune: everything, package cache included' }),
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
          .option('base', { type: 'string', default: 'base', describe: 'profile airship-base extends' }),
      async (a) => {
        const { importAirshipCommand } = await import('./import/command.ts');
        code = await importAirshipCommand({ dir: a.dir!, out: a.out, base: a.base });
      },
    )
    .demandCommand(1, 'say what to do: build, boot, plan, doctor or cache')
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
