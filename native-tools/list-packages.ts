/**
 * Prints the host packages ib-native needs, one per line, for native-tools/install.sh.
 *   node --import tsx native-tools/list-packages.ts [--with-tests] [--distro debian|ubuntu]
 */
import { pathToFileURL } from 'node:url';
import { type HostFamily, hostPackages } from './tools.ts';

export function parseArgs(argv: readonly string[]): { family: HostFamily; withTests: boolean } {
  let family: HostFamily = 'debian';
  let withTests = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--with-tests') withTests = true;
    else if (a === '--distro') {
      const v = argv[++i];
      if (v !== 'debian' && v !== 'ubuntu') throw new Error(`--distro must be debian or ubuntu, not ${v}`);
      family = v;
    } else
      throw new Error(
        `unknown argument ${a}; usage: list-packages.ts [--with-tests] [--distro debian|ubuntu]`,
      );
  }
  return { family, withTests };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { family, withTests } = parseArgs(process.argv.slice(2));
    process.stdout.write(`${hostPackages(family, { withTests }).join('\n')}\n`);
  } catch (e) {
    process.stderr.write(`list-packages: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
