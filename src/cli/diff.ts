/** `ib-native diff A B`: what would differ between the images of two profiles, without building. */
import type { Argv, CommandModule } from 'yargs';
import { planBuild } from '../build.ts';
import { checkedKeys } from '../commands.ts';
import { diffPlans, formatPlanDiff } from '../inspect/plan-diff.ts';
import { DISTROS, type DistroName } from '../profile/schema.ts';
import { writeOut } from './output.ts';
import { displayFile } from './profiles.ts';

export async function diffCommand(o: {
  a: string;
  b: string;
  distro?: DistroName;
  json: boolean;
}): Promise<number> {
  const overrides = { distro: o.distro };
  const plan = (ref: string) => planBuild(ref, overrides, process.cwd(), undefined, checkedKeys());
  const d = diffPlans(await plan(o.a), await plan(o.b));
  if (o.json) await writeOut(`${JSON.stringify(d, null, 2)}\n`);
  else
    await writeOut(
      formatPlanDiff({
        ...d,
        a: { ...d.a, sources: d.a.sources.map((s) => displayFile(s)) },
        b: { ...d.b, sources: d.b.sources.map((s) => displayFile(s)) },
      }),
    );
  return 0;
}

/** `diff <a> <b>`, for src/cli.ts; `done` receives the exit code. */
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
        await diffCommand({
          a: String(a.a),
          b: String(a.b),
          distro: a.distro as DistroName | undefined,
          json: Boolean(a.json),
        }),
      ),
  };
}
