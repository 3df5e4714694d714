/**
 * Issue 15 (2): `plan --matrix` lists the independent build units (profile x distro x format) with
 * their rootfs keys and the units sharing one; the shipped CI and Kubernetes examples are valid
 * YAML and run every unit of their matrix exactly once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { planBuild } from '../../src/build.ts';
import type { DistroName } from '../../src/distro/index.ts';
import { UserError } from '../../src/errors.ts';
import { buildMatrix } from '../../src/matrix.ts';
import { REPO_ROOT } from '../../src/package.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read field by field
type Yaml = any;

const plan = (ref: string, distro: DistroName) => planBuild(ref, { distro }, REPO_ROOT, 'mmdebstrap');

test('buildMatrix: one unit per profile x distro x format, grouped by the rootfs they share', async () => {
  const plans = [];
  for (const ref of ['minimal', 'base'])
    for (const distro of ['ubuntu-focal', 'debian-bookworm'] as const)
      plans.push({ ref, plan: await plan(ref, distro) });
  const m = buildMatrix(plans);
  assert.equal(
    m.units.map((u) => u.id),
    [
      'minimal-ubuntu-focal-iso',
      'minimal-ubuntu-focal-qcow2',
      'minimal-debian-bookworm-iso',
      'minimal-debian-bookworm-qcow2',
      'base-ubuntu-focal-iso',
      'base-ubuntu-focal-qcow2',
      'base-debian-bookworm-iso',
      'base-debian-bookworm-qcow2',
    ],
  );
  const unit = m.units[1]!;
  assert.equal(unit.argv, ['build', '--profile', 'minimal', '--distro', 'ubuntu-focal', '--format', 'qcow2']);
  assert.is(unit.output, 'minimal.qcow2');
  assert.is(unit.family, 'disk');
  assert.is(unit.rootfsKey, plans[0]!.plan.rootfsKey);
  // the ISO and the QCOW2 of a profile on a distro share its rootfs; other profiles or distros do not
  assert.equal(unit.sharesRootfsWith, ['minimal-ubuntu-focal-iso']);
  assert.is(m.rootfs.length, 4);
  assert.equal(m.rootfs[0], {
    rootfsKey: plans[0]!.plan.rootfsKey,
    distro: 'ubuntu-focal',
    units: ['minimal-ubuntu-focal-iso', 'minimal-ubuntu-focal-qcow2'],
  });
  // every unit is in exactly one group
  const grouped = m.rootfs.flatMap((g) => g.units).sort();
  assert.equal(grouped, m.units.map((u) => u.id).sort());
});

test('buildMatrix: two profiles of the same name (or one given twice) are refused, naming the unit', async () => {
  const p = await plan('minimal', 'debian-bookworm');
  try {
    buildMatrix([
      { ref: 'minimal', plan: p },
      { ref: './profiles/minimal.ts', plan: p },
    ]);
    assert.unreachable('no error');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /two units are named minimal-debian-bookworm-iso/);
  }
});

const example = (name: string) =>
  parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'examples/ci', name), 'utf8')).map((d) => {
    assert.equal(d.errors, [], `${name}: ${d.errors.join('; ')}`);
    return d.toJS() as Record<string, Yaml>;
  });

test('the Kubernetes Indexed Job runs each unit of its matrix exactly once, privileged', async () => {
  const [configMap, job] = example('k8s-indexed-job.yaml');
  assert.is(configMap!.kind, 'ConfigMap');
  assert.is(job!.kind, 'Job');
  const argvs = JSON.parse(configMap!.data['units.json']) as string[][];
  // the units of the profiles and distros it names, as plan --matrix makes them
  const pairs = [...new Set(argvs.map((a) => `${a[2]} ${a[4]}`))].map((p) => p.split(' '));
  const planned = buildMatrix(
    await Promise.all(
      pairs.map(async ([ref, d]) => ({ ref: ref!, plan: await plan(ref!, d as DistroName) })),
    ),
  );
  const key = (a: readonly string[]) => JSON.stringify(a);
  assert.equal(
    argvs.map(key).sort(),
    planned.units.map((u) => key(u.argv)).sort(),
    'not the matrix of plan --matrix',
  );
  assert.is(new Set(argvs.map(key)).size, argvs.length, 'a unit is listed twice');
  const spec = job!.spec;
  assert.is(spec.completionMode, 'Indexed');
  assert.is(spec.completions, argvs.length, 'completions is not the number of units');
  assert.ok(spec.parallelism <= spec.completions);
  const pod = spec.template.spec;
  const c = pod.containers[0];
  assert.is(c.securityContext.privileged, true);
  const script = c.args.join('\n');
  assert.match(script, /\$JOB_COMPLETION_INDEX/);
  assert.match(script, /\/matrix\/units\.json/);
  assert.match(script, /ib-native "\$\{argv\[@\]\}"/);
  assert.ok(pod.volumes.some((v: Yaml) => v.configMap?.name === configMap!.metadata.name));
});

test('the CI workflow plans the matrix, then runs one job per unit with its argv', () => {
  const [wf] = example('github-actions.yml');
  const planRun = wf!.jobs.plan.steps.map((s: Yaml) => s.run ?? '').join('\n');
  assert.match(planRun, /ib-native plan --matrix --json/);
  assert.match(planRun, /\{include: \[\.units\[\] \| \{id, argv\}\]\}/);
  const build = wf!.jobs.build;
  assert.is(build.needs, 'plan');
  // GitHub expressions, written as the workflow has them
  const expr = (e: string) => `\${{ ${e} }}`;
  assert.is(build.strategy.matrix, expr('fromJSON(needs.plan.outputs.matrix)'));
  assert.is(wf!.jobs.plan.outputs.matrix, expr('steps.matrix.outputs.matrix'));
  const runs = build.steps.map((s: Yaml) => s.run ?? '').join('\n');
  assert.match(runs, /ib-native\)" \$\{\{ join\(matrix\.argv, ' '\) \}\}/);
});

test.run();
