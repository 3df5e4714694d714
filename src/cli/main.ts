import { DEFAULT_CACHE_DIR } from '../cache/store.ts';
import { EXIT, exitCodesHelp, UserError } from '../errors.ts';
import { withCommands } from './commands.ts';
import { profileCompletions } from './completion.ts';
import { report } from './report.ts';

/**
 * The command line. The only place that prints errors and exits the process.
 */

export async function main(args: string[]): Promise<number> {
  const profileWords = profileCompletions(args);
  if (profileWords) {
    for (const w of profileWords) process.stdout.write(`${w}\n`);
    return EXIT.ok;
  }
  // yargs only now: a profile name's completion (above) answers without it
  const { default: yargs } = await import('yargs');
  let code = 0;
  const done = (c: number) => {
    code = c;
  };
  const options = yargs(args)
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
    });
  const cli = withCommands(options, done)
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

/** Runs the command line of this process and exits with its code (called by bin/ib-native.mjs). */
export function run(): void {
  // what hideBin does: the arguments after node and the script
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (e) => process.exit(report(e)),
  );
}
