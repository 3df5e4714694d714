import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors.ts';
import { ISO_FILES, type IsoInputs } from './files.ts';
import { isObj, show } from './values.ts';

/**
 * The original's iso/ folder -> the ISO's config drive inputs (pure).
 *
 * Facts of the original (tools/cut_image.sh, assets/functions_v2.sh, roles/iso): `make generate_iso`
 * hands iso/user_data and iso/network_data.json to the container, which stops without user_data,
 * converts network_data.json with `yq r -j` (so YAML was accepted too) and copies both, with its own
 * fixed assets/meta_data.json (hostname and name "ephemeral"), to openstack/latest/ on the ISO.
 *
 * ib-native takes the same three files as `build --user-data`, `--network-data` and `--meta-data`
 * (there are no profile fields for them): they are written to `<out>/iso/` and the build command
 * naming them is printed and put at the top of airship-base.yaml.
 */

export const ISO_FLAGS = {
  userData: '--user-data',
  networkData: '--network-data',
  metaData: '--meta-data',
} as const;

export interface ConfigDriveFile {
  input: keyof IsoInputs;
  flag: (typeof ISO_FLAGS)[keyof IsoInputs];
  /** File name under `<out>/iso/`. */
  name: string;
  content: string;
}

/** A JSON object as ib-native's build reads it; YAML (as yq read it) is converted. Throws UserError. */
function jsonObject(text: string, file: string, yamlToo: boolean): { json: string; converted: boolean } {
  let value: unknown;
  let converted = false;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (!yamlToo)
      throw new UserError(
        `${file} is not valid JSON: ${(e as Error).message}`,
        'an OpenStack config drive carries JSON here; fix the file and run import-airship again',
      );
    try {
      value = parseYaml(text, { version: '1.1' });
      converted = true;
    } catch (y) {
      throw new UserError(
        `${file} is neither JSON nor YAML: ${(y as Error).message.split('\n')[0]}`,
        'fix the file (image-builder could not have read it either) and run import-airship again',
      );
    }
  }
  if (!isObj(value))
    throw new UserError(
      `${file} holds ${Array.isArray(value) ? 'a list' : show(value)}, not an object`,
      'network_data.json and meta_data.json are JSON objects (OpenStack config drive)',
    );
  return { json: converted ? `${JSON.stringify(value, null, 2)}\n` : text, converted };
}

/**
 * The config drive files from the texts of the iso/ files (`texts`), named in messages as `names`.
 * Throws UserError for a network or meta data file that is not an object; notes say where the ISO
 * differs from what image-builder made.
 */
export function mapIsoInputs(
  texts: { [K in keyof IsoInputs]?: string },
  names: { [K in keyof IsoInputs]?: string },
): { files: ConfigDriveFile[]; notes: string[] } {
  const files: ConfigDriveFile[] = [];
  const notes: string[] = [];
  const present = (Object.keys(ISO_FILES) as (keyof IsoInputs)[]).filter((k) => texts[k] !== undefined);
  if (!present.length) return { files, notes };
  for (const input of present) {
    const text = texts[input]!;
    const name = ISO_FILES[input];
    let content = text;
    if (input !== 'userData') {
      const j = jsonObject(text, names[input] ?? name, input === 'networkData');
      content = j.json;
      if (j.converted)
        notes.push(`${names[input] ?? name}: YAML, converted to JSON as image-builder did (yq r -j)`);
    }
    files.push({ input, flag: ISO_FLAGS[input], name, content });
  }
  if (texts.userData === undefined)
    notes.push(
      `iso/${ISO_FILES.userData}: missing; image-builder's ISO build stopped without it, ib-native's builds an ISO without user data`,
    );
  if (texts.networkData === undefined)
    notes.push(
      `iso/${ISO_FILES.networkData}: missing; image-builder's ISO build needed it, ib-native's builds an ISO without network data`,
    );
  notes.push(
    texts.metaData === undefined
      ? 'iso/: image-builder put its own meta_data.json (hostname and name "ephemeral") on the ISO; ib-native generates one from the profile (its hostname and name): add iso/meta_data.json to choose'
      : `${names.metaData ?? ISO_FILES.metaData}: image-builder ignored it (it used its own meta_data.json); ib-native puts it on the ISO`,
  );
  return { files, notes };
}

/** `ib-native build` arguments that put the written files on the ISO's config drive. */
export function configDriveArgs(files: readonly ConfigDriveFile[], dir: string): string[] {
  return files.flatMap((f) => [f.flag, `${dir}/${f.name}`]);
}
