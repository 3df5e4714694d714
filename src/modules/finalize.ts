import { type OpBody, ops } from '../ops/types.ts';
import { URL_RESOURCES_DIR } from './fetch.ts';
import type { ConfigModule } from './types.ts';
import { SCRIPTS_DIR } from './user-scripts.ts';

const NAME = 'finalize';

export const SSH_KEYGEN_UNIT = 'ib-native-ssh-keygen.service';

/** Generates host keys on first boot, so no two nodes share them; skipped once any key exists. */
export const SSH_KEYGEN_UNIT_CONTENT = `# written by ib-native: the image ships without SSH host keys
[Unit]
Description=Generate SSH host keys on first boot
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
After=cloud-init.service
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

/**
 * What finalize deletes or empties that the cached base rootfs still holds (root-relative, `*`
 * matching within one name). Whatever is made straight from that rootfs (the live ISO's base
 * squashfs, the QCOW2's base disk) leaves these out: hidden under an overlay whiteout, or in the
 * freed blocks of a file deleted later, they would still ship, SSH host private keys included.
 */
export const NOT_SHIPPED: readonly string[] = [
  'etc/ssh/ssh_host_*',
  'etc/machine-id',
  'var/lib/dbus/machine-id',
  'var/lib/apt/lists/*',
  'var/cache/apt/*.bin',
  'var/cache/apt/archives/*.deb',
  'root/.bash_history',
];

/** Constant script: an account with an empty password field would accept any password; lock root's instead. */
const NO_EMPTY_ROOT_PASSWORD = `if [ -z "$(getent shadow root | cut -d: -f2)" ]; then usermod -p '*' root; fi`;

/**
 * Last module: strip what must not ship (caches, apt lists, machine identity, SSH host keys, shell
 * history, downloads) and make the first boot create what is per machine.
 * The engine applies these last in every image, after the image's own context ops.
 *
 * Python bytecode stays, unlike the original's finalize: the packages' own `__pycache__` (compiled
 * by their postinst, valid for the files they ship) spares every boot compiling cloud-init (W's
 * cloud-init-local took 35 s under TCG without it, 18 s with it). The configuration layers write
 * none of their own (`PYTHONDONTWRITEBYTECODE` in src/stages/configure.ts).
 */
export const finalizeModule: ConfigModule = {
  name: NAME,
  plan() {
    const bodies: OpBody[] = [
      { kind: 'run', argv: ['apt-get', 'clean'], description: 'empty the apt package cache' },
      {
        kind: 'run',
        argv: ['find', '/var/lib/apt/lists', '-mindepth', '1', '-delete'],
        description: 'remove the apt lists',
      },
      // empty, not absent: systemd then generates a machine-id on first boot
      { kind: 'writeFile', path: '/etc/machine-id', content: '', mode: '0444' },
      { kind: 'symlink', path: '/var/lib/dbus/machine-id', target: '/etc/machine-id' },
      {
        kind: 'run',
        argv: ['find', '/etc/ssh', '-maxdepth', '1', '-name', 'ssh_host_*', '-delete'],
        description: 'remove SSH host keys',
      },
      {
        kind: 'writeFile',
        path: `/etc/systemd/system/${SSH_KEYGEN_UNIT}`,
        content: SSH_KEYGEN_UNIT_CONTENT,
        mode: '0644',
      },
      { kind: 'unit', name: SSH_KEYGEN_UNIT, action: 'enable' },
      {
        kind: 'run',
        argv: ['/bin/sh', '-c', NO_EMPTY_ROOT_PASSWORD],
        description: 'make sure root has no empty password',
      },
      { kind: 'remove', path: URL_RESOURCES_DIR },
      // user scripts are removed one by one after they ran; their folder goes too
      { kind: 'remove', path: SCRIPTS_DIR },
      { kind: 'remove', path: '/root/.bash_history' },
    ];
    return ops(NAME, undefined, ...bodies);
  },
};
