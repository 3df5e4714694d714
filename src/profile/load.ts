import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import { parse as parseYaml } from 'yaml';
import type { ZodIssue } from 'zod';
import { UserError, ValidationError } from '../errors.ts';
import { type Profile, profileSchema } from './schema.ts';

/** A profile file read and validated on its own, relative paths made absolute. */
export interface LoadedProfile {
  file: string;
  profile: Profile;
}

export function issuesFromZod(issues: readonly ZodIssue[]): { path: string; message: string }[] {
  return issues.flatMap((i) => {
    let message = i.message;
    if (i.code === 'invalid_union') {
      // the alternative whose type the value has explains what is wrong (e.g. key: { url, fingerprint })
      const typeMiss = (is: readonly ZodIssue[]) =>
        is.length === 1 && is[0]?.code === 'invalid_type' && is[0].path.length === i.path.length;
      const matched = i.unionErrors.filter((e) => !typeMiss(e.issues));
      if (matched.length === 1 && matched[0]) return issuesFromZod(matched[0].issues);
      const expected = i.unionErrors.flatMap((e) =>
        e.issues[0]?.code === 'invalid_type' ? [e.issues[0].expected] : [],
      );
      if (expected.length) message = `must be ${expected.join(' or ')}`;
    }
    if (i.code === 'unrecognized_keys')
      message = `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see README "Profile reference")`;
    if (i.code === 'invalid_type' && i.received === 'undefined')
      message = `is required (expected ${i.expected})`;
    return {
      path: i.path.map((p, n) => fieldPathPart(p, n)).join(''),
      message,
    };
  });
}

/** `[2]` for an index, `.name` for a field, `["net.ipv4 x"]` for a map key that is not a plain name. */
function fieldPathPart(p: string | number, n: number): string {
  if (typeof p === 'number') return `[${p}]`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) return `[${JSON.stringify(p)}]`;
  return n === 0 ? p : `.${p}`;
}

const jiti = createJiti(import.meta.url, {
  // the public API of the code running now: src/index.ts from the sources, index.js once compiled
  alias: { 'ib-native': fileURLToPath(new URL(`../index${path.extname(import.meta.url)}`, import.meta.url)) },
  moduleCache: false,
  fsCache: false,
});

/** Profiles larger than this are refused before they are read (a profile is text, not a payload). */
export const MAX_PROFILE_BYTES = 4 * 1024 * 1024;

/**
 * A TS profile runs in this process: while any profile loads, process.exit is an error, not a silent
 * success. Loads may overlap (a bundle reads its profiles at once), so the guard is installed by the
 * first load and the real exit is put back by the last one; saving and restoring per load would let
 * an overlapping load "restore" the guard and leave process.exit broken for the rest of the run.
 */
let loading = 0;
let realExit: typeof process.exit | undefined;

async function importWithoutExit(file: string): Promise<unknown> {
  if (loading++ === 0) {
    realExit = process.exit;
    process.exit = ((code?: unknown) => {
      throw new UserError(
        `a profile called process.exit(${String(code ?? 0)}) while loading`,
        'a profile only exports its settings: remove the process.exit call',
      );
    }) as typeof process.exit;
  }
  try {
    return await jiti.import(file);
  } catch (e) {
    if (e instanceof UserError && /called process\.exit\(/.test(e.message)) {
      throw new UserError(
        `profile ${file} ${e.message.replace(/^a profile /, '')}`,
        'a profile only exports its settings: remove the process.exit call',
      );
    }
    throw e;
  } finally {
    if (--loading === 0 && realExit) {
      process.exit = realExit;
      realExit = undefined;
    }
  }
}

/** A JSON object with a key given twice (JSON.parse keeps the last one silently): an error naming it. */
function checkDuplicateJsonKeys(text: string): void {
  try {
    parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    if (/Map keys must be unique/.test((e as Error).message))
      throw new Error(`duplicate key: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Read a profile file's raw object (no validation). */
export async function readProfileFile(file: string): Promise<unknown> {
  const ext = path.extname(file);
  const st = statSync(file);
  if (!st.isFile())
    throw new UserError(`profile ${file} is not a regular file`, 'give --profile a .ts, .yaml or .json file');
  if (st.size > MAX_PROFILE_BYTES)
    throw new UserError(
      `profile ${file} is ${st.size} bytes, more than the ${MAX_PROFILE_BYTES} a profile may have`,
      'keep large contents in files the profile names (userScripts[].file, dkms sources), not inline',
    );
  try {
    if (ext === '.ts') {
      const mod = (await importWithoutExit(file)) as { default?: unknown };
      // jiti's `mod.default` falls back to the module itself when there is none: read the own key
      const value: unknown = Object.getOwnPropertyDescriptor(mod, 'default')?.value;
      if (value === undefined)
        throw new UserError(
          `${file} has no default export`,
          'end the file with `export default defineProfile({...})`',
        );
      return value;
    }
    const text = readFileSync(file, 'utf8');
    if (ext !== '.json') return parseYaml(text);
    const value: unknown = JSON.parse(text);
    checkDuplicateJsonKeys(text);
    return value;
  } catch (e) {
    if (e instanceof UserError) throw e;
    // keep the location: jiti puts "file:line:column" on the message's second line
    const [first = '', second = ''] = (e as Error).message.split('\n').map((l) => l.trim());
    const message = /:\d+:\d+$/.test(second) ? `${first} at ${second}` : first;
    throw new UserError(`cannot read profile ${file}: ${message}`, 'fix the syntax error in that file');
  }
}

/** Fields that hold host paths; they resolve against the profile file's folder. */
function rebasePaths(p: Profile, dir: string): Profile {
  const abs = (f: string) => path.resolve(dir, f);
  // only fields the file sets: an explicit `repos: undefined` would erase inherited repos
  return {
    ...p,
    ...(p.repos && {
      // a key file is relative to the profile; a string URL stays as written (refused by the repos module)
      repos: p.repos.map((r) =>
        typeof r.key === 'string' && !/^[a-z]+:\/\//.test(r.key) ? { ...r, key: abs(r.key) } : r,
      ),
    }),
    ...(typeof p.kubernetes?.key === 'string' &&
      !/^[a-z]+:\/\//.test(p.kubernetes.key) && {
        kubernetes: { ...p.kubernetes, key: abs(p.kubernetes.key) },
      }),
    ...(p.dkms && { dkms: p.dkms.map((d) => ({ ...d, source: abs(d.source) })) }),
    ...(p.userScripts && {
      userScripts: p.userScripts.map((s) => (s.file ? { ...s, file: abs(s.file) } : s)),
    }),
  };
}

/** A profile file may name its JSON Schema for editors (`"$schema": ...`); the build ignores it. */
export const SCHEMA_KEY = '$schema';

function withoutSchemaKey(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !(SCHEMA_KEY in raw)) return raw;
  const { [SCHEMA_KEY]: _ignored, ...rest } = raw as Record<string, unknown>;
  return rest;
}

export async function loadProfileFile(file: string): Promise<LoadedProfile> {
  const raw = withoutSchemaKey(await readProfileFile(file));
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(file, issuesFromZod(parsed.error.issues));
  return { file, profile: rebasePaths(parsed.data, path.dirname(file)) };
}
