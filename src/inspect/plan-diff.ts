// Over 300 lines: one pure comparison of two plans, section by section; the sections share the plan walk.
/**
 * `ib-native diff A B` (pure): what would differ between the images of two profiles, from their
 * build plans alone (nothing built): the packages and repos of the rootfs, the paths the
 * configuration operations write, link, remove or change, the units and commands, the kernel
 * command lines, the formats and the disk layout.
 */
import { structuredPatch } from 'diff';
import type { PlacedPartition } from '../disk/layout.ts';
import { diskCmdline, liveCmdline } from '../modules/grub.ts';
import type { Op } from '../ops/types.ts';
import { familyOf } from '../profile/formats.ts';
import type { Context, Format, Repo } from '../profile/schema.ts';
import type { BuildPlan } from '../stages/plan.ts';
import { installSet } from '../stages/rootfs.ts';
import { sha256Text } from '../sys/files.ts';
import { isBelow } from './entries.ts';

/** What a build's operations leave at one path of an image. */
export interface PathState {
  kind: 'file' | 'dir' | 'symlink' | 'removed' | 'copy' | 'download' | 'attributes';
  /** The text of a file; the target of a link; the host source of a copy; the URL of a download. */
  content?: string;
  /** sha256 of a file's text, or the one a download is checked against. */
  sha256?: string;
  mode?: string;
  owner?: string;
  group?: string;
  /** The module whose operation decided it. */
  module: string;
}

/**
 * The operations of one image in the order the build applies them (see build.ts): the common
 * ones, then those scoped to the format's family, then finalize's common and family-scoped ones.
 */
export function imageOps(ops: readonly Op[], format: Format): Op[] {
  const ctx: Context = familyOf(format);
  const config = ops.filter((o) => o.module !== 'finalize');
  const final = ops.filter((o) => o.module === 'finalize');
  const scoped = (list: Op[], c: Context) => list.filter((o) => o.contexts.includes(c));
  return [
    ...scoped(config, 'common'),
    ...scoped(config, ctx),
    ...scoped(final, 'common'),
    ...scoped(final, ctx),
  ];
}

export interface ImageEffects {
  paths: Map<string, PathState>;
  /** Unit name -> the systemctl actions on it, in order (`enable`, `mask`). */
  units: Map<string, string[]>;
  /** Commands run in the image, as `[module] description: argv`. */
  commands: string[];
}

/** What the operations of one image do, path by path (pure). */
export function imageEffects(ops: readonly Op[], format: Format): ImageEffects {
  const paths = new Map<string, PathState>();
  const units = new Map<string, string[]>();
  const commands: string[] = [];
  const attrs = (o: { mode?: string; owner?: string; group?: string }) => ({
    ...(o.mode !== undefined && { mode: o.mode }),
    ...(o.owner !== undefined && { owner: o.owner }),
    ...(o.group !== undefined && { group: o.group }),
  });
  for (const op of imageOps(ops, format)) {
    const module = op.module;
    switch (op.kind) {
      case 'writeFile':
        paths.set(op.path, {
          kind: 'file',
          content: op.content,
          sha256: sha256Text(op.content),
          mode: op.mode ?? '0644',
          ...attrs({ owner: op.owner, group: op.group }),
          module,
        });
        break;
      case 'mkdir': {
        const prev = paths.get(op.path);
        paths.set(op.path, { ...(prev?.kind === 'dir' ? prev : {}), kind: 'dir', ...attrs(op), module });
        break;
      }
      case 'symlink':
        paths.set(op.path, { kind: 'symlink', content: op.target, module });
        break;
      case 'remove':
        for (const p of [...paths.keys()]) if (isBelow(p, op.path)) paths.delete(p);
        paths.set(op.path, { kind: 'removed', module });
        break;
      case 'chmod': {
        const prev = paths.get(op.path);
        paths.set(op.path, { ...(prev ?? { kind: 'attributes' }), ...attrs(op), module });
        break;
      }
      case 'copyIn':
        for (const p of [...paths.keys()]) if (isBelow(p, op.path)) paths.delete(p);
        paths.set(op.path, { kind: 'copy', content: op.source, ...attrs(op), module });
        break;
      case 'fetch':
        paths.set(op.path, { kind: 'download', content: op.url, sha256: op.sha256, mode: '0644', module });
        break;
      case 'unit':
        units.set(op.name, [...(units.get(op.name) ?? []), op.action]);
        break;
      case 'run':
        commands.push(`[${module}] ${op.description}: ${op.argv.join(' ')}`);
        break;
    }
  }
  return { paths, units, commands };
}

// ---------------------------------------------------------------------------------------------

export interface Change<T> {
  a?: T;
  b?: T;
}

export interface PathChange extends Change<PathState> {
  path: string;
  /** The images this change is in (the same change in both formats is listed once). */
  images: Format[];
  change: 'added' | 'removed' | 'changed';
  /** For files on both sides: a unified diff of their text (a few lines of context, capped). */
  diff?: string;
}

export interface PlanDiff {
  a: { name: string; sources: string[] };
  b: { name: string; sources: string[] };
  /** The images compared: every format either profile builds. */
  formats: Format[];
  /** Scalars of the profile that decide the whole build. */
  settings: Record<string, Change<string>>;
  /** Whether both builds would use the same cached rootfs. */
  sameRootfs: boolean;
  packages: { added: string[]; removed: string[]; changed: { name: string; a: string; b: string }[] };
  blockedPackages: { added: string[]; removed: string[] };
  repos: { name: string; change: 'added' | 'removed' | 'changed'; a?: Repo; b?: Repo }[];
  paths: PathChange[];
  units: { name: string; images: Format[]; a?: string[]; b?: string[] }[];
  commands: { images: Format[]; added: string[]; removed: string[] }[];
  cmdline: { image: 'live' | 'disk'; a: string[]; b: string[]; added: string[]; removed: string[] }[];
  disk: {
    size?: Change<number>;
    partitions: { number: number; a?: PartitionSummary; b?: PartitionSummary }[];
  };
}

export type PartitionSummary = Pick<
  PlacedPartition,
  'name' | 'firstSector' | 'lastSector' | 'filesystem' | 'mountpoint' | 'flags' | 'fstabOptions'
>;

const MAX_DIFF_LINES = 40;

/** A short unified diff of two texts (no file headers), at most MAX_DIFF_LINES lines. */
export function textDiff(a: string, b: string, maxLines = MAX_DIFF_LINES): string {
  const patch = structuredPatch('a', 'b', a, b, '', '', { context: 2 });
  const lines = patch.hunks.flatMap((h) => [
    `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`,
    ...h.lines,
  ]);
  if (lines.length <= maxLines) return lines.join('\n');
  return [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more lines`].join('\n');
}

const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const pkgName = (p: string) => p.replace(/=.*$/, '');

function listDiff(a: readonly string[], b: readonly string[]): { added: string[]; removed: string[] } {
  return { added: b.filter((x) => !a.includes(x)), removed: a.filter((x) => !b.includes(x)) };
}

function packageDiff(a: readonly string[], b: readonly string[]): PlanDiff['packages'] {
  const byName = (l: readonly string[]) => new Map(l.map((p) => [pkgName(p), p]));
  const ma = byName(a);
  const mb = byName(b);
  return {
    added: [...mb.values()].filter((p) => !ma.has(pkgName(p))).sort(),
    removed: [...ma.values()].filter((p) => !mb.has(pkgName(p))).sort(),
    changed: [...ma]
      .filter(([n, p]) => mb.has(n) && mb.get(n) !== p)
      .map(([name, p]) => ({ name, a: p, b: mb.get(name)! }))
      .sort((x, y) => x.name.localeCompare(y.name)),
  };
}

function pathChanges(a: BuildPlan, b: BuildPlan, formats: Format[]): PathChange[] {
  const byKey = new Map<string, PathChange>();
  for (const format of formats) {
    const pa = imageEffects(a.ops, format).paths;
    const pb = imageEffects(b.ops, format).paths;
    for (const p of new Set([...pa.keys(), ...pb.keys()])) {
      const sa = pa.get(p);
      const sb = pb.get(p);
      // the deciding module may differ while the result is the same: compare what lands in the image
      const strip = (s?: PathState) => s && { ...s, module: undefined };
      if (same(strip(sa), strip(sb))) continue;
      const key = `${p}\0${JSON.stringify([sa, sb])}`;
      const known = byKey.get(key);
      if (known) {
        known.images.push(format);
        continue;
      }
      const change: PathChange = {
        path: p,
        images: [format],
        change: !sa ? 'added' : !sb ? 'removed' : 'changed',
        ...(sa && { a: sa }),
        ...(sb && { b: sb }),
      };
      if (sa?.kind === 'file' && sb?.kind === 'file' && sa.content !== sb.content)
        change.diff = textDiff(sa.content ?? '', sb.content ?? '');
      byKey.set(key, change);
    }
  }
  return [...byKey.values()].sort((x, y) => x.path.localeCompare(y.path));
}

function unitChanges(a: BuildPlan, b: BuildPlan, formats: Format[]): PlanDiff['units'] {
  const byKey = new Map<string, PlanDiff['units'][number]>();
  for (const format of formats) {
    const ua = imageEffects(a.ops, format).units;
    const ub = imageEffects(b.ops, format).units;
    for (const name of new Set([...ua.keys(), ...ub.keys()])) {
      if (same(ua.get(name), ub.get(name))) continue;
      const key = `${name}\0${JSON.stringify([ua.get(name), ub.get(name)])}`;
      const known = byKey.get(key);
      if (known) known.images.push(format);
      else byKey.set(key, { name, images: [format], a: ua.get(name), b: ub.get(name) });
    }
  }
  return [...byKey.values()].sort((x, y) => x.name.localeCompare(y.name));
}

function commandChanges(a: BuildPlan, b: BuildPlan, formats: Format[]): PlanDiff['commands'] {
  const out: PlanDiff['commands'] = [];
  for (const format of formats) {
    const d = listDiff(imageEffects(a.ops, format).commands, imageEffects(b.ops, format).commands);
    if (!d.added.length && !d.removed.length) continue;
    const known = out.find((c) => same([c.added, c.removed], [d.added, d.removed]));
    if (known) known.images.push(format);
    else out.push({ images: [format], ...d });
  }
  return out;
}

function repoChanges(a: readonly Repo[], b: readonly Repo[]): PlanDiff['repos'] {
  const out: PlanDiff['repos'] = [];
  for (const r of a) {
    const other = b.find((x) => x.name === r.name);
    if (!other) out.push({ name: r.name, change: 'removed', a: r });
    else if (!same(r, other)) out.push({ name: r.name, change: 'changed', a: r, b: other });
  }
  for (const r of b) if (!a.some((x) => x.name === r.name)) out.push({ name: r.name, change: 'added', b: r });
  return out;
}

const summary = (p: PlacedPartition): PartitionSummary => ({
  name: p.name,
  firstSector: p.firstSector,
  lastSector: p.lastSector,
  filesystem: p.filesystem,
  mountpoint: p.mountpoint,
  flags: p.flags,
  fstabOptions: p.fstabOptions,
});

function diskChanges(a: BuildPlan, b: BuildPlan): PlanDiff['disk'] {
  const out: PlanDiff['disk'] = { partitions: [] };
  if (!a.layout && !b.layout) return out;
  if (a.layout?.sizeBytes !== b.layout?.sizeBytes)
    out.size = { a: a.layout?.sizeBytes, b: b.layout?.sizeBytes };
  const pa = a.layout?.partitions ?? [];
  const pb = b.layout?.partitions ?? [];
  const numbers = [...new Set([...pa, ...pb].map((p) => p.number))].sort((x, y) => x - y);
  for (const n of numbers) {
    const x = pa.find((p) => p.number === n);
    const y = pb.find((p) => p.number === n);
    if (x && y && same(summary(x), summary(y))) continue;
    out.partitions.push({ number: n, ...(x && { a: summary(x) }), ...(y && { b: summary(y) }) });
  }
  return out;
}

/** What would differ between the images of two build plans (pure). */
export function diffPlans(a: BuildPlan, b: BuildPlan): PlanDiff {
  const formats = [...new Set([...a.profile.formats, ...b.profile.formats])].sort() as Format[];
  const settings: PlanDiff['settings'] = {};
  const setting = (name: string, x: string | undefined, y: string | undefined) => {
    if (x !== y) settings[name] = { a: x, b: y };
  };
  setting('distro', a.distro.name, b.distro.name);
  setting('mirror', a.distro.mirror, b.distro.mirror);
  setting('bootstrapper', a.rootfs.bootstrapper, b.rootfs.bootstrapper);
  setting('formats', a.profile.formats.join(','), b.profile.formats.join(','));
  setting('hostname', a.profile.hostname, b.profile.hostname);
  const cmdline: PlanDiff['cmdline'] = [];
  const lines = [
    ...(formats.some((f) => familyOf(f) === 'live')
      ? [['live', liveCmdline(a.profile), liveCmdline(b.profile)] as const]
      : []),
    ...(formats.some((f) => familyOf(f) === 'disk')
      ? [['disk', diskCmdline(a.profile), diskCmdline(b.profile)] as const]
      : []),
  ];
  for (const [image, x, y] of lines) if (!same(x, y)) cmdline.push({ image, a: x, b: y, ...listDiff(x, y) });
  return {
    a: { name: a.profile.name, sources: a.profile.sources },
    b: { name: b.profile.name, sources: b.profile.sources },
    formats,
    settings,
    sameRootfs: a.rootfsKey === b.rootfsKey,
    packages: packageDiff(installSet(a.rootfs), installSet(b.rootfs)),
    blockedPackages: listDiff(a.rootfs.blockedPackages, b.rootfs.blockedPackages),
    repos: repoChanges(a.rootfs.repos, b.rootfs.repos),
    paths: pathChanges(a, b, formats),
    units: unitChanges(a, b, formats),
    commands: commandChanges(a, b, formats),
    cmdline,
    disk: diskChanges(a, b),
  };
}

/** Whether the two plans would make the same images. */
export function isEmptyDiff(d: PlanDiff): boolean {
  return (
    !Object.keys(d.settings).length &&
    !d.packages.added.length &&
    !d.packages.removed.length &&
    !d.packages.changed.length &&
    !d.blockedPackages.added.length &&
    !d.blockedPackages.removed.length &&
    !d.repos.length &&
    !d.paths.length &&
    !d.units.length &&
    !d.commands.length &&
    !d.cmdline.length &&
    d.disk.size === undefined &&
    !d.disk.partitions.length
  );
}

// ---------------------------------------------------------------------------------------------
// text

function describeState(s: PathState): string {
  const own = [s.mode, s.owner || s.group ? `${s.owner ?? ''}:${s.group ?? ''}` : undefined].filter(Boolean);
  const extra = own.length ? ` ${own.join(' ')}` : '';
  switch (s.kind) {
    case 'file':
      return `file${extra}, ${Buffer.byteLength(s.content ?? '')} bytes, sha256 ${s.sha256?.slice(0, 12)}`;
    case 'dir':
      return `folder${extra}`;
    case 'symlink':
      return `link -> ${s.content}`;
    case 'removed':
      return 'removed';
    case 'copy':
      return `copy of ${s.content}${extra}`;
    case 'download':
      return `download of ${s.content} (sha256 ${s.sha256?.slice(0, 12)})`;
    case 'attributes':
      return `attributes${extra}`;
  }
}

const imagesLabel = (images: Format[], all: Format[]) =>
  images.length === all.length ? '' : ` [${images.join(',')}]`;
const indent = (text: string, by = '      ') =>
  text
    .split('\n')
    .map((l) => by + l)
    .join('\n');

/** The diff as text for people (pure). */
export function formatPlanDiff(d: PlanDiff): string {
  const out: string[] = [
    `--- ${d.a.name} (${d.a.sources.at(-1) ?? ''})`,
    `+++ ${d.b.name} (${d.b.sources.at(-1) ?? ''})`,
  ];
  if (isEmptyDiff(d)) {
    out.push('', 'no difference: both profiles would build the same images');
    return `${out.join('\n')}\n`;
  }
  const all = d.formats;
  const section = (title: string, lines: string[]) => {
    if (lines.length) out.push('', title, ...lines);
  };
  section(
    'settings',
    Object.entries(d.settings).map(([k, v]) => `  ${k}: ${v.a ?? '(none)'} -> ${v.b ?? '(none)'}`),
  );
  section('packages', [
    ...d.packages.added.map((p) => `  + ${p}`),
    ...d.packages.removed.map((p) => `  - ${p}`),
    ...d.packages.changed.map((c) => `  ~ ${c.a} -> ${c.b}`),
    ...d.blockedPackages.added.map((p) => `  + blocked ${p}`),
    ...d.blockedPackages.removed.map((p) => `  - blocked ${p}`),
    ...d.repos.map((r) =>
      r.change === 'added'
        ? `  + repo ${r.name} (${r.b!.url} ${r.b!.suite})`
        : r.change === 'removed'
          ? `  - repo ${r.name} (${r.a!.url} ${r.a!.suite})`
          : `  ~ repo ${r.name}: ${Object.keys({ ...r.a, ...r.b })
              .filter((k) => !same(r.a?.[k as keyof Repo], r.b?.[k as keyof Repo]))
              .join(', ')} differ`,
    ),
  ]);
  if (
    d.packages.added.length ||
    d.packages.removed.length ||
    d.packages.changed.length ||
    d.repos.length ||
    d.blockedPackages.added.length ||
    d.blockedPackages.removed.length ||
    !d.sameRootfs
  )
    out.push(
      d.sameRootfs
        ? '  (the same cached rootfs)'
        : '  (a different rootfs: the second build bootstraps its own)',
    );
  section(
    'files',
    d.paths.flatMap((p) => {
      const where = imagesLabel(p.images, all);
      const head =
        p.change === 'added'
          ? p.b!.kind === 'removed'
            ? `  - ${p.path}${where}: deleted (${p.b!.module})`
            : `  + ${p.path}${where}: ${describeState(p.b!)} (${p.b!.module})`
          : p.change === 'removed'
            ? p.a!.kind === 'removed'
              ? `  + ${p.path}${where}: no longer deleted (as the rootfs has it)`
              : `  - ${p.path}${where}: ${describeState(p.a!)} (${p.a!.module}); as the rootfs has it`
            : `  ~ ${p.path}${where}: ${describeState(p.a!)} -> ${describeState(p.b!)}`;
      return p.diff ? [head, indent(p.diff)] : [head];
    }),
  );
  section(
    'units',
    d.units.map(
      (u) =>
        `  ~ ${u.name}${imagesLabel(u.images, all)}: ${u.a?.join(', ') ?? '(none)'} -> ${u.b?.join(', ') ?? '(none)'}`,
    ),
  );
  section(
    'commands run in the image',
    d.commands.flatMap((c) => [
      ...c.removed.map((x) => `  - ${x}${imagesLabel(c.images, all)}`),
      ...c.added.map((x) => `  + ${x}${imagesLabel(c.images, all)}`),
    ]),
  );
  section(
    'kernel command line',
    d.cmdline.flatMap((c) => [
      `  ${c.image === 'live' ? 'live (ISO)' : 'disk (QCOW2)'}:`,
      `    - ${c.a.join(' ')}`,
      `    + ${c.b.join(' ')}`,
      ...(c.removed.length ? [`    without: ${c.removed.join(' ')}`] : []),
      ...(c.added.length ? [`    with: ${c.added.join(' ')}`] : []),
    ]),
  );
  const part = (p?: PartitionSummary) =>
    p
      ? `${p.name} ${p.firstSector}-${p.lastSector} ${p.filesystem}${p.mountpoint ? ` ${p.mountpoint}` : ''}${p.flags.length ? ` [${p.flags.join(',')}]` : ''}`
      : '(none)';
  section('disk', [
    ...(d.disk.size
      ? [`  size: ${d.disk.size.a ?? '(no disk)'} -> ${d.disk.size.b ?? '(no disk)'} bytes`]
      : []),
    ...d.disk.partitions.map((p) => `  partition ${p.number}: ${part(p.a)} -> ${part(p.b)}`),
  ]);
  return `${out.join('\n')}\n`;
}
