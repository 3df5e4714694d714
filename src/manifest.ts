import path from 'node:path';
import type { Distro } from './distro/index.ts';
import { TOOL_VERSION } from './package.ts';
import { publicProfile } from './profile/public.ts';
import type { ResolvedProfile } from './profile/resolve.ts';
import type { InstalledPackage } from './sys/dpkg.ts';

/** `<profile>.manifest.json`: what a build made, from what, with which tools (pure). */

export interface ManifestInput {
  profile: ResolvedProfile;
  distro: Distro;
  rootfsKey: string;
  kernel: string | undefined;
  packages: readonly InstalledPackage[];
  outputs: readonly { format: string; path: string; sha256: string; bytes: number }[];
  hostTools: Record<string, string>;
  stages: Record<string, number>;
  cacheHits: Record<string, boolean>;
  /** Unix seconds: SOURCE_DATE_EPOCH when set, else now. */
  builtAt: number;
  /** ib-native's version; package.json's unless given. */
  version?: string;
}

export function manifestOf(i: ManifestInput) {
  return {
    ibNative: i.version ?? TOOL_VERSION,
    // file and script contents as sha256, password hashes hidden: the manifest is world-readable
    profile: publicProfile(i.profile),
    distro: i.distro,
    rootfsKey: i.rootfsKey,
    kernel: i.kernel,
    packages: i.packages,
    outputs: i.outputs.map((o) => ({
      format: o.format,
      file: path.basename(o.path),
      sha256: o.sha256,
      bytes: o.bytes,
    })),
    hostTools: i.hostTools,
    stages: i.stages,
    cacheHits: i.cacheHits,
    builtAt: new Date(i.builtAt * 1000).toISOString(),
  };
}

export const manifestText = (m: ReturnType<typeof manifestOf>): string => `${JSON.stringify(m, null, 2)}\n`;
