import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { REPO_ROOT } from '../package.ts';
import { SCHEMA_KEY } from './load.ts';
import { profileSchema } from './schema.ts';

/**
 * The JSON Schema of a profile file, generated from the zod schema that also gives the
 * TypeScript types, so editors validate and complete YAML/JSON profiles by the same rules.
 * Shipped as schema/profile.schema.json (`npm run schema` rewrites it; a unit test fails when it
 * is stale). Rules zod checks in code (a script gives exactly one of content or file, partition
 * layouts, inheritance) are still checked by `ib-native plan`, not by the editor.
 */

export const SCHEMA_FILE = path.join(REPO_ROOT, 'schema', 'profile.schema.json');

export function profileJsonSchema(): Record<string, unknown> {
  // a profile file may name this schema; the loader drops the key (src/profile/load.ts)
  const fileSchema = profileSchema.extend({
    [SCHEMA_KEY]: z.string().optional().describe('where editors find this JSON Schema; ignored by ib-native'),
  });
  const { $schema, ...generated } = zodToJsonSchema(fileSchema, {
    target: 'jsonSchema7',
    // what a user writes: fields that have defaults are optional
    pipeStrategy: 'input',
    effectStrategy: 'input',
    $refStrategy: 'none',
  });
  return {
    $schema,
    title: 'ib-native profile',
    description:
      'A profile for ib-native (.yaml, .json; .ts profiles use defineProfile). See README "Profile reference".',
    ...generated,
  };
}

/** The shipped file's exact text. */
export function renderProfileJsonSchema(): string {
  return `${JSON.stringify(profileJsonSchema(), null, 2)}\n`;
}

// `npm run schema`: rewrite the shipped file
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  writeFileSync(SCHEMA_FILE, renderProfileJsonSchema());
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
