import { ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { header } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'containerd';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';

const CRI = 'plugins."io.containerd.grpc.v1.cri"';

type Containerd = NonNullable<ResolvedProfile['containerd']>;

const enabled = (p: ResolvedProfile) => p.containerd !== undefined && p.containerd.enabled !== false;

/** A TOML basic string (JSON's escapes are valid TOML). */
const toml = (s: string) => JSON.stringify(s);

/** /etc/containerd/config.toml (version 2): CRI with runc under the systemd cgroup driver, sandbox image, registry mirrors. */
export function renderContainerdConfig(c: Containerd): string {
  const sections = [
    `version = 2\n`,
    `[${CRI}]\n${c.sandboxImage !== undefined ? `  sandbox_image = ${toml(c.sandboxImage)}\n` : ''}`,
    `[${CRI}.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n`,
    `[${CRI}.containerd.runtimes.runc.options]\n  SystemdCgroup = ${c.systemdCgroup ?? true}\n`,
    ...Object.entries(c.registryMirrors ?? {}).map(
      ([registry, endpoints]) =>
        `[${CRI}.registry.mirrors.${toml(registry)}]\n  endpoint = [${endpoints.map(toml).join(', ')}]\n`,
    ),
  ];
  return `${header('containerd')}${sections.join('\n')}`;
}

/** containerd as the Kubernetes container runtime. */
export const containerdModule: ConfigModule = {
  name: NAME,
  packages: (p) => (enabled(p) ? [p.containerd?.package ?? 'containerd'] : []),
  plan(p) {
    if (!enabled(p) || !p.containerd) return [];
    return ops(
      NAME,
      undefined,
      {
        kind: 'writeFile',
        path: CONTAINERD_CONFIG,
        mode: '0644',
        content: renderContainerdConfig(p.containerd),
      },
      { kind: 'unit', name: 'containerd.service', action: 'enable' },
    );
  },
};
