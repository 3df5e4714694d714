/** `ib-native diff A B`: what would differ between the images of two profiles, without building. */
import { planBuild } from '../build.ts';
import { diffPlans, formatPlanDiff } from '../inspect/plan-diff.ts';
import type { DistroName } from '../profile/schema.ts';
import { writeOut } from './output.ts';
import { checkedKeys } from './plan.ts';
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
