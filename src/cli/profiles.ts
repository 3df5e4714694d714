/**
 * `ib-native profiles list` and `ib-native profiles show`: the shipped profiles (and those of a
 * folder), and one resolved profile with the file of its `extends` chain that set each value.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import { UserError } from '../errors.ts';
import { REPO_ROOT } from '../package.ts';
import { PROFILES_DIR, profileFiles } from '../profile/files.ts';
import { loadProfileFile } from '../profile/load.ts';
import { type Origin, provenanceMap, type Removal } from '../profile/merge.ts';
import { type ResolveOverrides, resolveProfileTraced } from '../profile/resolve.ts';
import { writeOut } from './output.ts';

/** How a profile file is named to the user: `profiles/base.ts` for shipped ones, else relative to the cwd. */
export function displayFile(file: string, cwd = process.cwd()): string {
  if (!path.isAbsolute(file)) return file;
  if (file.startsWith(`${PROFILES_DIR}${path.sep}`)) return path.relative(REPO_ROOT, file);
  const rel = path.relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

export interface ProfileRow {
  name: string;
  file: string;
  extends?: string;
  description?: string;
  formats?: string[];
  distro?: string;
  /** Why the profile does not load or resolve. */
  error?: string;
}

async function rowOf(file: string): Promise<ProfileRow> {
  try {
    const { profile } = await loadProfileFile(file);
    const row: ProfileRow = {
      name: profile.name,
      file,
      extends: profile.extends,
      description: profile.description,
    };
    const { profile: resolved } = await resolveProfileTraced(file);
    return { ...row, formats: resolved.formats, distro: resolved.distro };
  } catch (e) {
    const name = path.basename(file).replace(/\.[^.]+$/, '');
    return { name, file, error: (e as Error).message.split('\n')[0] };
  }
}

/** Rows as aligned text columns (pure). */
export function formatProfileRows(rows: readonly ProfileRow[], cwd = process.cwd()): string {
  const table = [
    ['NAME', 'EXTENDS', 'FORMATS', 'DISTRO', 'FILE'],
    ...rows.map((r) =>
      r.error
        ? [r.name, '!', 'invalid:', r.error, displayFile(r.file, cwd)]
        : [r.name, r.extends ?? '-', r.formats?.join(',') ?? '-', r.distro ?? '-', displayFile(r.file, cwd)],
    ),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return `${table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

export async function profilesListCommand(o: { dir?: string; json: boolean }): Promise<number> {
  const files = profileFiles();
  if (o.dir) {
    const dir = path.resolve(o.dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new UserError(
        `--dir ${o.dir}: no such folder`,
        'give a folder that holds .ts/.yaml/.json profiles',
      );
    const extra = profileFiles(dir);
    if (!extra.length)
      throw new UserError(
        `--dir ${o.dir}: no profile files in it`,
        'profiles are .ts, .yaml, .yml or .json files',
      );
    files.push(...extra.filter((f) => !files.includes(f)));
  }
  const rows: ProfileRow[] = [];
  for (const f of files) rows.push(await rowOf(f));
  await writeOut(o.json ? `${JSON.stringify(rows, null, 2)}\n` : formatProfileRows(rows));
  // a profile that does not resolve is listed, and the exit code says so
  return rows.some((r) => r.error) ? 2 : 0;
}

/**
 * The resolved profile as YAML, each value followed by the file that set it (pure). Lists and maps
 * that end up empty are written inline (`[]`) so they can carry their file too.
 */
export function renderWithProvenance(
  profile: object,
  origin: Origin,
  removed: readonly Removal[],
  label: (file: string) => string = displayFile,
): string {
  const doc = new Document(profile);
  const annotate = (node: unknown, o: Origin | undefined) => {
    if (!o) return;
    if (isScalar(node)) node.comment = ` ${label(o.file)}`;
    else if (isSeq(node)) {
      if (!node.items.length) {
        node.flow = true;
        node.comment = ` ${label(o.file)}`;
      }
      node.items.forEach((item, i) => {
        annotate(item, o.items?.[i]);
      });
    } else if (isMap(node)) {
      if (!node.items.length) {
        node.flow = true;
        node.comment = ` ${label(o.file)}`;
      }
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        annotate(pair.value as Node, o.keys?.[key]);
      }
    }
  };
  annotate(doc.contents, origin);
  const sources = 'sources' in profile && Array.isArray(profile.sources) ? profile.sources.map(String) : [];
  const head = [
    ...(sources.length ? [` ${sources.map((s) => label(s)).join(' <- ')}`] : []),
    ' every value is followed by the file that set it; (default) means no file did',
  ];
  if (removed.length) {
    head.push(' removed on the way:');
    for (const r of removed)
      head.push(`   ${r.field}: ${r.key} (set by ${label(r.from)}, removed by ${label(r.by)})`);
  }
  doc.commentBefore = head.join('\n');
  return doc.toString({ lineWidth: 0 });
}

export async function profilesShowCommand(o: {
  profile: string;
  overrides: ResolveOverrides;
  json: boolean;
}): Promise<number> {
  const { profile, origin, removed } = await resolveProfileTraced(o.profile, o.overrides);
  if (o.json)
    await writeOut(
      `${JSON.stringify({ profile, provenance: provenanceMap(profile, origin), removed }, null, 2)}\n`,
    );
  else await writeOut(renderWithProvenance(profile, origin, removed));
  return 0;
}
