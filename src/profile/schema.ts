import { z } from 'zod';

/**
 * The profile schema: what users write (every field optional, defaults documented in README and
 * set by the shipped `base` profile), validated strictly so a misspelt key is an error.
 */

export const CONTEXTS = ['common', 'iso', 'qcow2'] as const;
export type Context = (typeof CONTEXTS)[number];
export const contexts = z.array(z.enum(CONTEXTS)).min(1).optional();

const octalMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'must be an octal mode string such as "0644"')
  .describe('octal mode');
const absPath = z.string().regex(/^\/(?!.*(^|\/)\.\.(\/|$)).*/, 'must be an absolute path without ".."');
const pkgName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?$/,
    'must be a Debian package name, optionally =version',
  );
const unitName = z
  .string()
  .regex(
    /^[A-Za-z0-9:_.@-]+\.(service|socket|timer|target|mount|path|slice|scope)$/,
    'must be a systemd unit name such as foo.service',
  );
const sysctlKey = z
  .string()
  .regex(
    /^[a-z0-9_]+([./][A-Za-z0-9_-]+)+$/,
    'must be a sysctl name such as net.ipv4.ip_forward (no spaces)',
  );
const size = z
  .string()
  .regex(/^\d+(\.\d+)?(B|KiB|MiB|GiB|TiB|K|M|G|T|%)$/, 'must be a size such as 512MiB, 19G or 100%');
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@+-]*$/, 'must be a simple name (letters, digits, _ . @ + -)');

export const DISTROS = ['ubuntu-focal', 'debian-bookworm'] as const;
export type DistroName = (typeof DISTROS)[number];
export const FORMATS = ['iso', 'qcow2'] as const;
export type Format = (typeof FORMATS)[number];

export const repoSchema = z
  .object({
    name,
    url: z.string().url('must be a URL such as http://127.0.0.1:8080/k8s'),
    suite: z.string().min(1),
    components: z.array(z.string().min(1)).default(['main']),
    /** ASCII-armored or binary OpenPGP key file (relative to the profile) that signs the repo. */
    key: z.string().optional(),
    /** Packages to install from this repo. */
    packages: z.array(pkgName).default([]),
    /** Skip signature checks for this repo (printed as a warning). */
    trusted: z.boolean().optional(),
  })
  .strict();

export const kernelModuleSchema = z
  .object({
    name,
    args: z.record(z.string().regex(/^[A-Za-z0-9_]+$/), z.union([z.string(), z.number()])).optional(),
  })
  .strict();

export const limitSchema = z
  .object({
    name,
    domain: z.string().min(1),
    type: z.enum(['soft', 'hard', '-'], { message: 'must be soft, hard or -' } as never),
    item: z.enum([
      'core',
      'data',
      'fsize',
      'memlock',
      'nofile',
      'rss',
      'stack',
      'cpu',
      'nproc',
      'as',
      'maxlogins',
      'maxsyslogins',
      'priority',
      'locks',
      'sigpending',
      'msgqueue',
      'nice',
      'rtprio',
    ]),
    value: z.union([z.number().int(), z.enum(['unlimited', 'infinity'])]),
    contexts,
  })
  .strict();

export const fileSchema = z
  .object({
    path: absPath,
    content: z.string(),
    mode: octalMode.optional(),
    owner: z.string().optional(),
    group: z.string().optional(),
    contexts,
  })
  .strict();

/** Path, mode and ownership: shared by directories and file permissions. */
const pathAttributes = {
  path: absPath,
  mode: octalMode.optional(),
  owner: z.string().optional(),
  group: z.string().optional(),
  contexts,
};

export const directorySchema = z.object(pathAttributes).strict();

export const unitSchema = z
  .object({
    name: unitName,
    content: z.string().optional(),
    enabled: z.boolean().optional(),
    masked: z.boolean().optional(),
    contexts,
  })
  .strict();

export const scriptSchema = z
  .object({
    name,
    /** Script body (with a #! line, or run with /bin/sh). */
    content: z.string().optional(),
    /** Or a script file on the host, relative to the profile. */
    file: z.string().optional(),
    contexts,
  })
  .strict()
  .refine((s) => (s.content === undefined) !== (s.file === undefined), {
    message: 'give exactly one of content or file',
  });

export const filePermissionSchema = z.object(pathAttributes).strict();

export const userSchema = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/, 'must be a valid user name'),
    shell: z.string().optional(),
    /** A crypt(3) hash (e.g. from `mkpasswd -m sha-512`), never a clear password. */
    passwordHash: z
      .string()
      .regex(
        /^\$[0-9a-z]+\$/,
        'must be a crypt(3) hash such as $6$..., never a clear-text password (make one with `mkpasswd -m sha-512`)',
      )
      .optional(),
    passwordLock: z.boolean().optional(),
    groups: z.array(z.string()).optional(),
    create: z.boolean().optional(),
    contexts,
  })
  .strict();

export const fetchSchema = z
  .object({
    url: z.string().url(),
    sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be the 64 hex digit sha256 of the file'),
    /** File name under /tmp/url_resources (default: last URL segment). */
    name: z.string().optional(),
    contexts,
  })
  .strict();

export const partitionSchema = z
  .object({
    name,
    mountpoint: z.string().optional(),
    filesystem: z.enum(['ext4', 'xfs', 'vfat', 'none']),
    start: size,
    end: size,
    flags: z.array(z.enum(['esp', 'bios_grub', 'boot', 'legacy_boot'])).default([]),
    fstabOptions: z.string().optional(),
    fsckPass: z.number().int().min(0).max(2).optional(),
    label: z.string().max(16).optional(),
  })
  .strict();

export const diskSchema = z
  .object({
    size: size.optional(),
    partitions: z.array(partitionSchema).optional(),
  })
  .strict();

export const profileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'must be lowercase letters, digits, _ . -'),
    description: z.string().optional(),
    extends: z.string().optional(),
    distro: z.enum(DISTROS).optional(),
    formats: z.array(z.enum(FORMATS)).min(1).optional(),
    mirror: z.string().url().optional(),
    /** Remove inherited entries: field name -> keys (package names, sysctl keys, entry names or paths). */
    remove: z.record(z.string(), z.array(z.string())).optional(),
    packages: z.array(pkgName).optional(),
    blockedPackages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'must be a package name')).optional(),
    repos: z.array(repoSchema).optional(),
    hostname: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i, 'must be a host name')
      .optional(),
    locale: z.string().optional(),
    sysctl: z.record(sysctlKey, z.union([z.string(), z.number()])).optional(),
    kernel: z
      .object({
        /** Extra kernel command line, name -> value (true for a bare flag). */
        cmdline: z
          .record(
            z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a kernel parameter name'),
            z.union([z.string(), z.number(), z.literal(true)]),
          )
          .optional(),
        modules: z
          .object({ load: z.array(kernelModuleSchema).optional(), blacklist: z.array(name).optional() })
          .strict()
          .optional(),
        packages: z.array(pkgName).optional(),
      })
      .strict()
      .optional(),
    limits: z.array(limitSchema).optional(),
    grub: z
      .object({
        timeout: z.number().int().min(0).optional(),
        /** GRUB_CMDLINE_LINUX_DEFAULT entries (tokens such as console=ttyS0,115200n8). */
        cmdline: z.array(z.string().regex(/^\S+$/, 'must be one token without spaces')).optional(),
        terminal: z.string().optional(),
        serialCommand: z.string().optional(),
      })
      .strict()
      .optional(),
    kdump: z
      .object({ enabled: z.boolean().optional(), crashkernel: z.string().optional() })
      .strict()
      .optional(),
    kubelet: z
      .object({
        enabled: z.boolean().optional(),
        extraArgs: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string()).optional(),
        cpuAffinity: z.string().optional(),
        /** Kubernetes version for kubelet/kubeadm/kubectl pins, e.g. 1.21.2-00. */
        version: z.string().optional(),
      })
      .strict()
      .optional(),
    containerd: z
      .object({
        enabled: z.boolean().optional(),
        sandboxImage: z.string().optional(),
        systemdCgroup: z.boolean().optional(),
        registryMirrors: z.record(z.string(), z.array(z.string().url())).optional(),
        package: z.string().optional(),
      })
      .strict()
      .optional(),
    cloudInit: z
      .object({
        renderers: z.array(z.enum(['netplan', 'eni', 'sysconfig', 'networkd'])).optional(),
        maskSshSocket: z.boolean().optional(),
        machineIdSetup: z.boolean().optional(),
        datasources: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    banners: z.object({ issue: z.string().optional(), motd: z.string().optional() }).strict().optional(),
    unattendedUpgrades: z.object({ disabled: z.boolean() }).strict().optional(),
    resolved: z
      .object({ startLimitBurst: z.number().int().min(0).optional() })
      .strict()
      .optional(),
    systemdBase: z
      .object({ networkd: z.boolean().optional(), networkdDispatcher: z.boolean().optional() })
      .strict()
      .optional(),
    nicNaming: z
      .object({
        namePolicy: z.string().optional(),
        alternativeNamesPolicy: z.string().optional(),
        macAddressPolicy: z.string().optional(),
      })
      .strict()
      .optional(),
    fetch: z.array(fetchSchema).optional(),
    directories: z.array(directorySchema).optional(),
    files: z.array(fileSchema).optional(),
    systemd: z.array(unitSchema).optional(),
    userScripts: z.array(scriptSchema).optional(),
    filePermissions: z.array(filePermissionSchema).optional(),
    users: z.array(userSchema).optional(),
    apparmor: z
      .object({
        enabled: z.boolean().optional(),
        profiles: z.array(z.object({ name, content: z.string(), contexts }).strict()).optional(),
      })
      .strict()
      .optional(),
    dkms: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9_.+-]+$/),
            version: z.string().regex(/^[A-Za-z0-9_.+~-]+$/),
            /** Folder holding the module source and its dkms.conf, relative to the profile. */
            source: z.string(),
          })
          .strict(),
      )
      .optional(),
    cpu: z
      .object({
        hugepages: z
          .object({
            defaultSize: z.enum(['2M', '1G']).optional(),
            pages: z
              .array(z.object({ size: z.enum(['2M', '1G']), count: z.number().int().positive() }).strict())
              .optional(),
          })
          .strict()
          .optional(),
        isolcpus: z
          .string()
          .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a CPU list such as 2-7,10')
          .optional(),
        nohzFull: z
          .string()
          .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a CPU list')
          .optional(),
        rcuNocbs: z
          .string()
          .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a CPU list')
          .optional(),
        kubeletReservedCpus: z
          .string()
          .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a CPU list')
          .optional(),
      })
      .strict()
      .optional(),
    disk: diskSchema.optional(),
    iso: z
      .object({
        compression: z.enum(['gzip', 'lz4', 'lzo', 'xz', 'zstd']).optional(),
        threads: z.number().int().positive().optional(),
        /** Kernel command line of the live system (after boot=live). */
        cmdline: z.array(z.string().regex(/^\S+$/)).optional(),
      })
      .strict()
      .optional(),
    qcow2: z
      .object({ compress: z.boolean().optional(), compressionType: z.enum(['zlib', 'zstd']).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** What a user writes. */
export type ProfileInput = z.input<typeof profileSchema>;
/** A profile after parsing (defaults of the schema filled in, inheritance not yet applied). */
export type Profile = z.output<typeof profileSchema>;

export type Repo = z.output<typeof repoSchema>;
export type Limit = z.output<typeof limitSchema>;
export type FileEntry = z.output<typeof fileSchema>;
export type UnitEntry = z.output<typeof unitSchema>;
export type Partition = z.output<typeof partitionSchema>;
