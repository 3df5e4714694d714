// Over 300 lines: the options and examples of every command, one definition each, and no logic.
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DISTRO_NAMES as DISTROS, type DistroName } from '../distro/index.ts';
import { parseSuiteMirrors } from '../distro/mirrors.ts';
import { EXIT, UserError } from '../errors.ts';
import { FORMATS, type Format } from '../profile/formats.ts';
import { parseFormats, requireRoot } from './args.ts';

/**
 * The command line's surface: every command's yargs definition (options, examples) and nothing else.
 * Each handler imports its command's code only when it runs, so `--help` and completion load none of it.
 */

/** Registers the commands on `cli`; `done` receives a command's exit code. */
export function withCommands(cli: Argv, done: (code: number) => void): Argv {
  return cli
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
            describe: `comma-separated, any of ${FORMATS.join(', ')} (default: the profile formats)`,
          })
          .option('output', { alias: 'o', type: 'string', default: './out', describe: 'output folder' })
          .option('mirror', {
            type: 'string',
            describe: 'replace the main archive (local or air-gapped); other suites follow it unless mapped',
          })
          .option('suite-mirror', {
            type: 'string',
            array: true,
            describe:
              'SUITE=URL: where that updates or security suite comes from (repeat; adds to the profile mirrors)',
          })
          .option('user-data', { type: 'string', describe: 'ISO config drive: openstack/latest/user_data' })
          .option('meta-data', {
            type: 'string',
            describe: 'ISO config drive: meta_data.json (generated when absent)',
          })
          .option('network-data', { type: 'string', describe: 'ISO config drive: network_data.json' })
          .option('site', {
            type: 'string',
            array: true,
            describe:
              'one ISO per site folder (user_data, meta_data.json, network_data.json): <profile>-<folder>.iso; repeat',
          })
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
          .option('cache-from', {
            type: 'string',
            default: process.env.IB_NATIVE_CACHE_FROM,
            defaultDescription: '$IB_NATIVE_CACHE_FROM',
            describe:
              'registry repository (host[:port]/path) to pull missing cache entries from before building them; never fails the build',
          })
          .option('cache-to', {
            type: 'string',
            default: process.env.IB_NATIVE_CACHE_TO,
            defaultDescription: '$IB_NATIVE_CACHE_TO',
            describe:
              'registry repository to push the cache entries the build used or made to, when it lacks them',
          })
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
            'sudo $0 build -p worker --cache-from reg.example.com/ib/cache --cache-to reg.example.com/ib/cache',
            'share rootfs, squashfs and disk entries between builders through a registry',
          )
          .example(
            'sudo $0 build -p ephemeral --format iso --site sites/dc1 --site sites/dc2',
            'one ISO per site: ephemeral-dc1.iso, ephemeral-dc2.iso',
          )
          .example(
            'sudo $0 build -p minimal --json | jq -c \'select(.type=="progress")\'',
            'machine-readable events',
          ),
      async (a) => {
        done(await (await import('./build.ts')).runBuild(a as Record<string, unknown>));
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
            describe: 'replace the main archive (if the rootfs is built)',
          })
          .option('suite-mirror', {
            type: 'string',
            array: true,
            describe:
              'SUITE=URL: where that updates or security suite comes from (repeat; adds to the profile mirrors)',
          })
          .example('sudo $0 shell -p minimal --distro debian-bookworm', 'look around the configured tree')
          .example('sudo $0 shell -p worker --format qcow2', 'the tree as the QCOW2 gets it (finalized)'),
      async (a) => {
        requireRoot('shell');
        const { insideNamespace, reexecInNamespace } = await import('../sys/namespace.ts');
        if (!insideNamespace()) return done(await reexecInNamespace());
        const [{ shellCommand }, { realPath }, { netEnv }] = await Promise.all([
          import('./shell.ts'),
          import('../sys/mounts.ts'),
          import('../proxy.ts'),
        ]);
        done(
          await shellCommand({
            profile: a.profile,
            distro: a.distro as DistroName | undefined,
            format: a.format as Format | undefined,
            mirror: a.mirror,
            mirrors: parseSuiteMirrors(a.suiteMirror),
            cacheDir: realPath(String(a.cacheDir)),
            netEnv: netEnv({}),
            verbose: Boolean(a.verbose),
          }),
        );
      },
    )
    .command(
      'plan',
      'print the resolved profile and every operation a build would run (no root, no network)',
      (y) =>
        y
          .option('profile', {
            alias: 'p',
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'profile name or path; with --matrix, repeat for several',
          })
          .option('distro', {
            type: 'string',
            array: true,
            choices: DISTROS as unknown as string[],
            describe: "override the profile's distro; with --matrix, repeat for several",
          })
          .option('format', { type: 'string', describe: `comma-separated, any of ${FORMATS.join(', ')}` })
          .option('matrix', {
            type: 'boolean',
            describe:
              'list the independent build units (profile x distro x format), their rootfs keys and the units sharing one',
          })
          .option('mirror', { type: 'string', describe: 'replace the main archive' })
          .option('suite-mirror', {
            type: 'string',
            array: true,
            describe:
              'SUITE=URL: where that updates or security suite comes from (repeat; adds to the profile mirrors)',
          })
          .option('json', { type: 'boolean' })
          .example('$0 plan -p minimal --distro debian-bookworm', 'what a build would do, as text')
          .example('$0 plan -p ./site.yaml --json', 'the resolved profile and operations as JSON')
          .example(
            '$0 plan --matrix --json -p minimal -p base --distro ubuntu-focal --distro debian-bookworm',
            'the build units for a CI matrix or a Kubernetes Indexed Job',
          ),
      async (a) => {
        const { planCommand, planMatrixCommand } = await import('./plan.ts');
        const profiles = (a.profile as string[]).map(String);
        const distros = ((a.distro as string[] | undefined) ?? []) as DistroName[];
        if (a.matrix) {
          done(
            await planMatrixCommand({
              cacheDir: path.resolve(String(a.cacheDir)),
              profiles,
              distros,
              formats: parseFormats(a.format),
              mirror: a.mirror,
              mirrors: parseSuiteMirrors(a.suiteMirror),
              json: Boolean(a.json),
            }),
          );
          return;
        }
        if (profiles.length > 1 || distros.length > 1)
          throw new UserError(
            `plan takes one --profile and one --distro (given ${profiles.length} and ${distros.length})`,
            'add --matrix to list the build units of several',
          );
        done(
          await planCommand({
            cacheDir: path.resolve(String(a.cacheDir)),
            profile: profiles[0]!,
            distro: distros[0],
            formats: parseFormats(a.format),
            mirror: a.mirror,
            mirrors: parseSuiteMirrors(a.suiteMirror),
            json: Boolean(a.json),
          }),
        );
      },
    )
    .command(
      'boot <image>',
      'boot an image in QEMU and wait for login: on the serial console',
      (y) =>
        y
          .positional('image', {
            type: 'string',
            demandOption: true,
            describe: 'an .iso, a disk image (.qcow2, .img, .vmdk, .vhdx) or a .pxe folder made by build',
          })
          .option('firmware', {
            type: 'string',
            choices: ['bios', 'uefi'],
            // no default: --secure-boot implies uefi and refuses an explicit bios
            defaultDescription: 'bios (uefi with --secure-boot)',
          })
          .option('secure-boot', {
            type: 'boolean',
            describe:
              "UEFI with Secure Boot enforced (OVMF's Secure Boot build, Microsoft's keys): an unsigned boot loader is refused",
          })
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
          .example('sudo $0 boot out/minimal.qcow2 --secure-boot', 'the same with Secure Boot enforced')
          .example(
            'sudo $0 boot out/minimal.iso --expect "Cloud-init" --console-log console.txt',
            'also wait for a text; keep the whole console',
          )
          .example('$0 boot out/minimal.qcow2 --console', 'type into the guest; Ctrl-] to leave'),
      async (a) => {
        const { bootCommand } = await import('./boot.ts');
        done(
          await bootCommand({
            image: a.image!,
            firmware: a.firmware as 'bios' | 'uefi' | undefined,
            secureBoot: Boolean(a.secureBoot),
            timeoutSec: a.timeout,
            seedDir: a.seed,
            expect: (a.expect ?? []).map(String),
            consoleLog: a.consoleLog,
            memoryMiB: a.memory,
            verbose: Boolean(a.verbose),
            console: Boolean(a.console),
          }),
        );
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
        const { doctorCommand } = await import('./doctor.ts');
        done(await doctorCommand(path.resolve(String(a.cacheDir))));
      },
    )
    .command(
      'cache <action>',
      'list or prune the stage cache',
      (y) =>
        y
          .positional('action', { choices: ['list', 'prune'] as const, demandOption: true })
          .option('older-than', { type: 'number', describe: 'prune: entries older than this many days' })
          .option('profile', {
            type: 'string',
            array: true,
            describe: 'prune: entries no profile but these used (repeat, or a comma list)',
          })
          .option('all', { type: 'boolean', describe: 'prune: everything, package cache included' })
          .example('$0 cache list', 'entries with key, size, age and the profiles that used them')
          .example('sudo $0 cache prune --older-than 14', 'remove entries older than two weeks')
          .example(
            'sudo $0 cache prune --profile old-worker',
            'remove what only the retired profile old-worker used',
          ),
      async (a) => {
        const [{ cacheCommand }, { realPath }] = await Promise.all([
          import('./cache.ts'),
          import('../sys/mounts.ts'),
        ]);
        done(
          await cacheCommand({
            action: a.action as 'list' | 'prune',
            cacheDir: realPath(String(a.cacheDir)),
            olderThan: a.olderThan,
            profiles: (a.profile ?? []).flatMap((p) => String(p).split(',')).filter(Boolean),
            all: Boolean(a.all),
          }),
        );
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
        const { importAirshipCommand } = await import('./import-airship.ts');
        done(await importAirshipCommand({ dir: a.dir!, out: a.out, base: a.base }));
      },
    )
    .command(profilesCommandModule(done))
    .command(diffCommandModule(done))
    .command(inspectCommandModule(done));
}

/** `profiles list | show`, for main.ts; `done` receives the exit code. */
export function profilesCommandModule(done: (code: number) => void): CommandModule {
  return {
    command: 'profiles',
    describe: 'list the profiles, or show one resolved with the file that set each value',
    builder: (y: Argv) =>
      y
        .command(
          'list',
          'list the shipped profiles (and those of --dir): name, extends, formats, distro',
          (l) =>
            l
              .option('dir', { type: 'string', describe: 'also list the profiles in this folder' })
              .option('json', { type: 'boolean', describe: 'print JSON' })
              .example('$0 profiles list', 'the shipped profiles')
              .example('$0 profiles list --dir ./site-profiles --json', 'with a folder of your own, as JSON'),
          async (a) =>
            done(
              await (await import('./profiles.ts')).profilesListCommand({
                dir: a.dir,
                json: Boolean(a.json),
              }),
            ),
        )
        .command(
          'show <profile>',
          'the resolved profile, each value with the file of the extends chain that set it',
          (s) =>
            s
              .positional('profile', {
                type: 'string',
                demandOption: true,
                describe: 'a name from profiles/ or a path, like --profile',
              })
              .option('distro', {
                type: 'string',
                choices: DISTROS as unknown as string[],
                describe: "override the profile's distro",
              })
              .option('json', {
                type: 'boolean',
                describe: 'the profile and a provenance map (JSON pointer -> file)',
              })
              .example(
                '$0 profiles show worker',
                'where each value of worker comes from (base.ts or worker.ts)',
              )
              .example(
                '$0 profiles show ./site.yaml --json',
                'machine-readable: profile, provenance, removed',
              ),
          async (a) =>
            done(
              await (await import('./profiles.ts')).profilesShowCommand({
                profile: a.profile,
                overrides: { distro: a.distro as DistroName | undefined },
                json: Boolean(a.json),
              }),
            ),
        )
        .demandCommand(1, 'say what to do: profiles list, or profiles show <profile>')
        .example('$0 profiles list', 'the shipped profiles')
        .example('$0 profiles show minimal', 'minimal, resolved, with provenance'),
    handler: () => undefined,
  };
}

/** `diff <a> <b>`, for main.ts; `done` receives the exit code. */
export function diffCommandModule(done: (code: number) => void): CommandModule {
  return {
    command: 'diff <a> <b>',
    describe: 'what would differ between the images of two profiles, without building (no root)',
    builder: (y: Argv) =>
      y
        .positional('a', { type: 'string', demandOption: true, describe: 'a profile name or path' })
        .positional('b', { type: 'string', demandOption: true, describe: 'the profile compared with it' })
        .option('distro', {
          type: 'string',
          choices: DISTROS as unknown as string[],
          describe: "override both profiles' distro",
        })
        .option('json', { type: 'boolean', describe: 'print JSON' })
        .example('$0 diff minimal ./site.yaml', 'packages, files, units, cmdline and disk layout that differ')
        .example('$0 diff minimal base --distro debian-bookworm --json', 'the same, for machines'),
    handler: async (a) =>
      done(
        await (await import('./diff.ts')).diffCommand({
          a: String(a.a),
          b: String(a.b),
          distro: a.distro as DistroName | undefined,
          json: Boolean(a.json),
        }),
      ),
  };
}

/** `inspect <image>`, for main.ts; `done` receives the exit code. */
export function inspectCommandModule(done: (code: number) => void): CommandModule {
  return {
    command: 'inspect <image>',
    describe:
      'what a built ISO or disk image holds (manifest, packages, cmdline, partitions, files), read without booting it',
    builder: (y: Argv) =>
      y
        .positional('image', {
          type: 'string',
          demandOption: true,
          describe: 'an image made by build (.iso, .qcow2, .img, .vmdk, .vhdx)',
        })
        .option('cat', {
          type: 'string',
          array: true,
          describe: 'print this file of the booted system (links followed; repeatable)',
        })
        .option('ls', {
          type: 'string',
          array: true,
          describe: 'list this folder of the booted system (repeatable)',
        })
        .option('json', { type: 'boolean', describe: 'print everything as JSON' })
        .example('$0 inspect out/minimal.qcow2', 'manifest, boot command line, partitions and packages')
        .example(
          '$0 inspect out/minimal.iso --cat /etc/sysctl.d/99-ib-native.conf',
          'one file, as the live system sees it',
        )
        .example('$0 inspect out/minimal.iso --ls /etc/ssh --json', 'a folder, and everything else, as JSON'),
    handler: async (a) =>
      done(
        await (await import('./inspect.ts')).inspectCommand({
          image: String(a.image),
          cat: ((a.cat as string[] | undefined) ?? []).map(String),
          ls: ((a.ls as string[] | undefined) ?? []).map(String),
          json: Boolean(a.json),
          verbose: Boolean(a.verbose),
        }),
      ),
  };
}
