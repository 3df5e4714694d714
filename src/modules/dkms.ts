import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { getDistro } from '../distro/index.ts';
import { type OpBody, ops } from '../ops/types.ts';
import { SCRIPTS_IN_IMAGE } from '../sys/chroot-api.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'dkms';

/** chroot-scripts/dkms-build.sh: builds and installs NAME VERSION for every kernel under /lib/modules. */
export const DKMS_BUILD_SCRIPT = `${SCRIPTS_IN_IMAGE}/dkms-build.sh`;

/** A dkms.conf setting, e.g. PACKAGE_NAME="i40e" -> i40e. */
function dkmsSetting(conf: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key}=["']?([^"'\\s#]+)`, 'm').exec(conf)?.[1];
}

/** Out-of-tree kernel modules built with DKMS against the image's kernels (e.g. a newer i40e driver). */
export const dkmsModule: ConfigModule = {
  name: NAME,
  packages: (p) => (p.dkms?.length ? ['dkms', ...getDistro(p.distro).headersPackages] : []),
  plan(p) {
    return (p.dkms ?? []).flatMap((d) => {
      const bodies: OpBody[] = [
        { kind: 'copyIn', source: d.source, path: `/usr/src/${d.name}-${d.version}` },
        {
          kind: 'run',
          argv: [DKMS_BUILD_SCRIPT, d.name, d.version],
          description: `build DKMS module ${d.name} ${d.version}`,
        },
      ];
      return ops(NAME, undefined, ...bodies);
    });
  },
  validate(p) {
    const issues: Issue[] = [];
    (p.dkms ?? []).forEach((d, i) => {
      const conf = path.join(d.source, 'dkms.conf');
      if (!existsSync(d.source) || !statSync(d.source).isDirectory()) {
        issues.push({
          path: `dkms[${i}].source`,
          message: `${d.source} is not a folder (paths are relative to the profile)`,
        });
        return;
      }
      if (!existsSync(conf)) {
        issues.push({ path: `dkms[${i}].source`, message: `${d.source} holds no dkms.conf` });
        return;
      }
      const text = readFileSync(conf, 'utf8');
      const name = dkmsSetting(text, 'PACKAGE_NAME');
      const version = dkmsSetting(text, 'PACKAGE_VERSION');
      if (name !== undefined && name !== d.name)
        issues.push({
          path: `dkms[${i}].name`,
          message: `is "${d.name}" but ${conf} says PACKAGE_NAME="${name}"`,
        });
      if (version !== undefined && version !== d.version)
        issues.push({
          path: `dkms[${i}].version`,
          message: `is "${d.version}" but ${conf} says PACKAGE_VERSION="${version}"`,
        });
    });
    return issues;
  },
};
