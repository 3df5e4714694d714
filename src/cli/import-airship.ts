import path from 'node:path';
import { importAirship } from '../import/airship.ts';

/** A path relative to the working folder when it is inside it, else absolute. */
const shown = (f: string) => {
  const rel = path.relative(process.cwd(), f);
  return rel && !rel.startsWith('..') ? rel : f;
};

/** A path as one shell word. */
const quoted = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * `ib-native import-airship <dir>`: writes the profiles, prints their paths on stdout and every item
 * that was not imported as a warning on stderr. Returns the exit code (0 once written); bad input
 * throws a UserError, which main.ts turns into exit code 2.
 */
export async function importAirshipCommand(o: { dir: string; out: string; base: string }): Promise<number> {
  const profiles = await importAirship(o.dir, o.out, o.base);
  for (const p of profiles) process.stdout.write(`${shown(p.file)}\n`);
  const warnings = profiles.flatMap((p) => p.unmapped.map((u) => `${p.name}: ${u}`));
  if (warnings.length) {
    process.stderr.write(
      `warning: ${warnings.length} ${warnings.length === 1 ? 'item was not imported or differs' : 'items were not imported or differ'} from image-builder (also listed at the top of each profile):\n`,
    );
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  }
  const last = profiles[profiles.length - 1];
  if (last) process.stderr.write(`check a profile with: ib-native plan --profile ${shown(last.file)}\n`);
  for (const p of profiles)
    if (p.configDriveArgs)
      process.stderr.write(
        `build the ISO with iso/ on its config drive: ib-native build --profile ${quoted(shown(p.file))} --format iso ${p.configDriveArgs.map((a) => (a.startsWith('--') ? a : quoted(shown(a)))).join(' ')}\n`,
      );
  return 0;
}
