import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  /** Source package name (and version when it differs). */
  source: string;
  sourceVersion: string;
}

/** Parse a dpkg status file (pure): installed packages, sorted by name. */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const f = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z-]+):\s?(.*)$/.exec(line);
      if (m) f.set(m[1]!, m[2]!);
    }
    // "install ok installed"; not "not-installed", "half-installed" or "config-files"
    if (!f.get('Package') || !/(^|\s)installed$/.test(f.get('Status') ?? '')) continue;
    const version = f.get('Version') ?? '';
    const src = /^(\S+)(?:\s+\((.+)\))?$/.exec(f.get('Source') ?? '');
    out.push({
      name: f.get('Package')!,
      version,
      architecture: f.get('Architecture') ?? '',
      source: src?.[1] ?? f.get('Package')!,
      sourceVersion: src?.[2] ?? version,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function installedPackages(root: string): InstalledPackage[] {
  const f = path.join(root, 'var/lib/dpkg/status');
  return existsSync(f) ? parseDpkgStatus(readFileSync(f, 'utf8')) : [];
}
