// Over 300 lines: the whole profile schema in one zod object, the single source of the JSON Schema and the README reference.
import { z } from 'zod';
import { DISTRO_NAMES, type DistroName } from '../distro/index.ts';
import { mirrorUrlProblem, SUITE_NAME } from '../distro/mirrors.ts';
import { normalizeFingerprint } from '../keys/openpgp.ts';
import { CONTEXT_ALIASES, FAMILIES, FORMATS, type Format } from './formats.ts';

/**
 * The profile schema: what users write (every field optional, defaults documented in README and
 * set by the shipped `base` profile), validated strictly so a misspelt key is an error.
 */

/** Where an operation applies: every image, or one image family's tree (see formats.ts). */
export const CONTEXTS = ['common', ...FAMILIES] as const;
export type Context = (typeof CONTEXTS)[number];
const contextName = z
  .enum([...CONTEXTS, ...(Object.keys(CONTEXT_ALIASES) as (keyof typeof CONTEXT_ALIASES)[])])
  .transform((c): Context => (c === 'iso' || c === 'qcow2' ? CONTEXT_ALIASES[c] : c));
export const contexts = z
  .array(contextName)
  .min(1)
  .optional()
  .describe(
    `Where it applies: common (every image, the default), live, disk or tree (one image family); the original's iso and qcow2 mean live and disk.`,
  );

const octalMode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'must be an octal mode string such as "0644"')
  .describe('octal mode');
const absPath = z
  .string()
  .regex(/^\/(?!.*(^|\/)\.\.(\/|$)).*/, 'must be an absolute path without ".."')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  .regex(/^[^\0-\x1f\x7f]*$/, 'must not contain control characters (NUL, line breaks, tabs)');

/**
 * Grammars of values that reach an apt source, apt's argv, grub.cfg, fstab or a unit file: each
 * is checked here, at plan time, so that no value can add a line, an option or a command.
 */
export const GRAMMAR = {
  /** A kernel command line token or value: no space, quote, `$`, `#`, `;` or other GRUB/shell syntax. */
  kernelToken: /^[A-Za-z0-9_.,:=/+@%~-]+$/,
  kernelValue: /^[A-Za-z0-9_.,:=/+@%~-]*$/,
  /** An apt suite (`stable`, `bookworm-updates`, a flat repo's `./` or `/`). */
  aptSuite: /^[A-Za-z0-9._/+~-]+$/,
  aptComponent: /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/,
  /** A URL of an apt source or mirror: printable, no space, no line break. */
  urlChars: /^[\x21-\x7e]+$/,
  /** A Debian version (kubelet.version): epoch, upstream and revision characters only. */
  debVersion: /^[0-9][A-Za-z0-9.+:~-]*$/,
  /** A user or group name, or a numeric id (chown's argv, usermod --groups). */
  account: /^([a-z_][a-z0-9_.-]*\$?|[0-9]+)$/,
  /** A crypt(3) hash: $id$[param$]salt$hash, the hash part at least 20 characters. */
  cryptHash: /^\$[0-9a-z]{1,5}(\$[A-Za-z0-9./=,]+){1,2}\$[A-Za-z0-9./]{20,}$/,
  /** A mount point: absolute, plain names (no space, no ".", "..", or empty parts). */
  mountpoint: /^\/([A-Za-z0-9_+@-][A-Za-z0-9_.+@-]*(\/[A-Za-z0-9_+@-][A-Za-z0-9_.+@-]*)*)?$/,
  /** fstab options: comma-separated words (defaults,noatime,errors=remount-ro). */
  fstabOptions: /^[A-Za-z0-9_.=:@+/-]+(,[A-Za-z0-9_.=:@+/-]+)*$/,
  /** A GRUB `serial` command: `serial` and its options, nothing else. */
  serialCommand: /^serial( [A-Za-z0-9_.,:=-]+)*$/,
  /** GRUB_TERMINAL: terminal names separated by single spaces. */
  grubTerminal: /^[a-z_]+( [a-z_]+)*$/,
} as const;

/** A URL with one of `schemes` and nothing a line-based file could split on. */
export function urlOf(schemes: readonly string[], example: string) {
  return z
    .string()
    .url(`must be a URL such as ${example}`)
    .regex(GRAMMAR.urlChars, 'must not contain spaces, line breaks or control characters')
    .refine((u) => schemes.some((s) => u.toLowerCase().startsWith(`${s}://`)), {
      message: `must be a ${schemes.join(', ')} URL such as ${example}`,
    });
}
const account = z
  .string()
  .regex(GRAMMAR.account, 'must be a user or group name (lowercase letters, digits, _ . -) or a number');
const pkgName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?$/,
    'must be a Debian package name, optionally =version',
  );
const kernelToken = z
  .string()
  .regex(
    GRAMMAR.kernelToken,
    'must be one kernel command line token without spaces, quotes or any of $ ; # { } | & < > \\',
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

/** The release names, from the one registry (src/distro/index.ts). */
export const DISTROS = DISTRO_NAMES;
export type { DistroName };
export { FORMATS, type Format };

const mirrorUrl = z
  .string()
  .url('must be a URL such as http://mirror.example/ubuntu')
  .superRefine((v, ctx) => {
    const problem = mirrorUrlProblem(v);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });
/** An OpenPGP fingerprint: 40 hex digits, spaces allowed; normalised to upper case without spaces. */
export const fingerprintSchema = z
  .string()
  .refine((s) => normalizeFingerprint(s) !== undefined, {
    message:
      'must be an OpenPGP fingerprint: 40 hex digits (spaces allowed), as `gpg --fingerprint` prints it',
  })
  .transform((s) => normalizeFingerprint(s) as string);

/** A repo key downloaded at build time and trusted only when its primary fingerprint is the pinned one. */
export const keyUrlSchema = z
  .object({
    url: z
      .string()
      .url('must be a URL such as https://example.org/repo/key.asc')
      .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL'),
    fingerprint: fingerprintSchema,
  })
  .strict();

/** A Kubernetes version a profile asks for: 1.MINOR or 1.MINOR.PATCH, no leading zeros. */
export const KUBERNETES_VERSION = /^1\.(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2}))?$/;

export const repoSchema = z
  .object({
    name,
    url: urlOf(['http', 'https', 'file'], 'http://127.0.0.1:8080/k8s'),
    /** A suite name, or "/" (a path ending in "/") for a flat repo such as pkgs.k8s.io's. */
    suite: z
      .string()
      .regex(GRAMMAR.aptSuite, 'must be an apt suite such as stable, or / for a flat repo (no spaces)'),
    /** Default ['main']; a flat repo (suite ending in "/") has none. */
    components: z
      .array(z.string().regex(GRAMMAR.aptComponent, 'must be an apt component such as main (no spaces)'))
      .optional(),
    /**
     * The repo's signing key: an ASCII-armored or binary OpenPGP public key file (relative to the
     * profile), or `{ url, fingerprint }`: downloaded before the build and refused unless its
     * primary key has that fingerprint.
     */
    key: z
      .union([z.string().min(1), keyUrlSchema])
      .optional()
      .describe('key file (relative to the profile), or { url, fingerprint } to download a pinned key'),
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
    owner: account.optional(),
    group: account.optional(),
    contexts,
  })
  .strict();

/** Path, mode and ownership: shared by directories and file permissions. */
const pathAttributes = {
  path: absPath,
  mode: octalMode.optional(),
  owner: account.optional(),
  group: account.optional(),
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
    shell: z
      .string()
      .regex(/^\/[A-Za-z0-9_./+-]+$/, 'must be an absolute path such as /bin/bash')
      .optional(),
    /** A crypt(3) hash (e.g. from `mkpasswd -m sha-512`), never a clear password. */
    passwordHash: z
      .string()
      .regex(
        GRAMMAR.cryptHash,
        'must be a crypt(3) hash such as $6$salt$hash, never a clear-text password (make one with `mkpasswd -m sha-512`)',
      )
      .optional(),
    passwordLock: z.boolean().optional(),
    groups: z.array(z.string().regex(/^[a-z_][a-z0-9_.-]*\$?$/, 'must be a group name')).optional(),
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
    mountpoint: z
      .string()
      .regex(
        GRAMMAR.mountpoint,
        'must be an absolute path of plain names such as /var/lib (no spaces, "." or "..")',
      )
      .optional(),
    filesystem: z.enum(['ext4', 'xfs', 'vfat', 'none']),
    start: size,
    end: size,
    flags: z.array(z.enum(['esp', 'bios_grub', 'boot', 'legacy_boot'])).default([]),
    fstabOptions: z
      .string()
      .regex(
        GRAMMAR.fstabOptions,
        'must be comma-separated fstab options such as defaults,noatime (no spaces)',
      )
      .optional(),
    fsckPass: z.number().int().min(0).max(2).optional(),
    label: z
      .string()
      .max(16)
      .regex(/^[A-Za-z0-9_.+-]+$/, 'must be letters, digits, _ . + - (no spaces)')
      .optional(),
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
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'must be lowercase letters, digits, _ . -')
      .describe('Names the outputs (<name>.iso, <name>.qcow2, <name>.manifest.json). Never inherited.'),
    description: z.string().optional().describe('Free text, kept in the manifest.'),
    extends: z
      .string()
      .optional()
      .describe('The parent profile: a name from profiles/ or a path relative to this file.'),
    distro: z
      .enum(DISTROS)
      .optional()
      .describe('The archive that is bootstrapped, its kernel and apt sources (--distro overrides it).'),
    formats: z
      .array(z.enum(FORMATS))
      .min(1)
      .optional()
      .describe('The images to build (replaced, not appended, when inherited; --format overrides it).'),
    mirror: mirrorUrl
      .optional()
      .describe(
        "The main archive (release and updates suites; every other suite too unless in mirrors): replaces the distro's (--mirror overrides it).",
      ),
    mirrors: z
      .record(z.string().regex(SUITE_NAME, 'must be a suite name such as focal-security'), mirrorUrl)
      .optional()
      .describe(
        'Per suite: where an updates or the security suite comes from (e.g. focal-security: http://site/ubuntu-security); --suite-mirror adds to it.',
      ),
    /** Remove inherited entries: field name -> keys (package names, sysctl keys, entry names or paths). */
    remove: z
      .record(z.string(), z.array(z.string()))
      .optional()
      .describe('Drops inherited entries: dotted field -> keys (package names, map keys, entry keys).'),
    packages: z.array(pkgName).optional().describe('Installed in one apt transaction; name=version pins.'),
    blockedPackages: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'must be a package name'))
      .optional()
      .describe('Never installed, and pinned away in the apt preferences of the image.'),
    repos: z
      .array(repoSchema)
      .optional()
      .describe(
        'Extra apt repositories, each signed by a local key file, and the packages to install from them.',
      ),
    hostname: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i, 'must be a host name (letters, digits and -)')
      .max(63, 'must be at most 63 characters (one DNS label)')
      .optional()
      .describe('/etc/hostname and the 127.0.1.1 line of /etc/hosts.'),
    locale: z.string().optional().describe('The default locale (LANG), generated in the image.'),
    sysctl: z
      .record(sysctlKey, z.union([z.string(), z.number()]))
      .optional()
      .describe('Kernel parameters, name -> value, written to /etc/sysctl.d.'),
    kernel: z
      .object({
        /** Extra kernel command line, name -> value (true for a bare flag). */
        cmdline: z
          .record(
            z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a kernel parameter name'),
            z.union([
              z
                .string()
                .regex(
                  GRAMMAR.kernelValue,
                  'must be a kernel parameter value without spaces, quotes or any of $ ; # { } | & < > \\',
                ),
              z.number(),
              z.literal(true),
            ]),
          )
          .optional(),
        modules: z
          .object({ load: z.array(kernelModuleSchema).optional(), blacklist: z.array(name).optional() })
          .strict()
          .optional(),
        packages: z.array(pkgName).optional(),
      })
      .strict()
      .optional()
      .describe(
        'Extra kernel command line (name -> value), modules to load or blacklist, extra kernel packages.',
      ),
    secureBoot: z
      .boolean()
      .optional()
      .describe(
        "UEFI boot through the distro's signed chain (shim, its signed GRUB and kernel), so images boot with Secure Boot enforced. Default: true where the distro ships one and the kernel is signed; false builds ib-native's own unsigned GRUB (custom kernels, unsigned DKMS modules).",
      ),
    limits: z.array(limitSchema).optional().describe('One /etc/security/limits.d file per entry.'),
    grub: z
      .object({
        timeout: z.number().int().min(0).optional(),
        /** GRUB_CMDLINE_LINUX_DEFAULT entries (tokens such as console=ttyS0,115200n8). */
        cmdline: z.array(kernelToken).optional(),
        terminal: z
          .string()
          .regex(GRAMMAR.grubTerminal, 'must be GRUB terminal names such as "serial console"')
          .optional(),
        serialCommand: z
          .string()
          .regex(
            GRAMMAR.serialCommand,
            'must be a GRUB serial command such as "serial --speed=115200 --unit=0" (one line, no other command)',
          )
          .optional(),
      })
      .strict()
      .optional()
      .describe(
        'GRUB settings of the QCOW2 image (timeout, kernel command line tokens, terminal, serial command).',
      ),
    kdump: z
      .object({ enabled: z.boolean().optional(), crashkernel: z.string().optional() })
      .strict()
      .optional()
      .describe('kdump-tools and the crashkernel reservation.'),
    kubernetes: z
      .object({
        /** 1.MINOR (the newest patch of that minor) or 1.MINOR.PATCH (exactly that patch). */
        version: z
          .string()
          .regex(
            KUBERNETES_VERSION,
            "must be a Kubernetes version such as '1.31' (newest patch) or '1.31.2' (that patch); apt picks the package revision",
          )
          .optional(),
        /** A mirror of https://pkgs.k8s.io/ with the same layout (core:/stable:/v1.31/deb/). */
        mirror: z
          .string()
          .regex(
            /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~:@!$&'()*+,;=%/-]*)?$/,
            'must be an http(s) URL without spaces, query or fragment, such as http://10.0.0.5/pkgs.k8s.io/',
          )
          .optional(),
        /** The repository's signing key; default: Release.key of the repo, pkgs.k8s.io's fingerprint. */
        key: repoSchema.shape.key,
      })
      .strict()
      .optional()
      .describe(
        'kubelet, kubeadm and kubectl from the Kubernetes project apt repo of a version (pkgs.k8s.io or a mirror), pinned to it.',
      ),
    kubelet: z
      .object({
        enabled: z.boolean().optional(),
        extraArgs: z.record(z.string().regex(/^[a-z0-9-]+$/), z.string()).optional(),
        cpuAffinity: z.string().optional(),
        /** Deprecated (kubernetes.version replaces it): an exact Debian version for kubelet/kubeadm/kubectl, e.g. 1.21.2-00. */
        version: z
          .string()
          .regex(GRAMMAR.debVersion, 'must be a Debian package version such as 1.21.2-00')
          .optional(),
      })
      .strict()
      .optional()
      .describe('kubelet, kubeadm and kubectl: version pin, extra arguments, CPU affinity.'),
    containerd: z
      .object({
        enabled: z.boolean().optional(),
        sandboxImage: z.string().optional(),
        systemdCgroup: z.boolean().optional(),
        registryMirrors: z.record(z.string(), z.array(z.string().url())).optional(),
        package: pkgName.optional(),
      })
      .strict()
      .optional()
      .describe('containerd: sandbox image, systemd cgroups, registry mirrors.'),
    cloudInit: z
      .object({
        renderers: z.array(z.enum(['netplan', 'eni', 'sysconfig', 'networkd'])).optional(),
        maskSshSocket: z.boolean().optional(),
        machineIdSetup: z.boolean().optional(),
        datasources: z.array(z.string()).optional(),
      })
      .strict()
      .optional()
      .describe('cloud-init: network renderers, datasources, ssh socket, machine-id setup.'),
    banners: z
      .object({ issue: z.string().optional(), motd: z.string().optional() })
      .strict()
      .optional()
      .describe('/etc/issue (login banner) and /etc/motd.'),
    unattendedUpgrades: z
      .object({ disabled: z.boolean() })
      .strict()
      .optional()
      .describe('Disable unattended upgrades in the image.'),
    resolved: z
      .object({
        startLimitBurst: z.number().int().min(0).optional(),
        /** What /etc/resolv.conf is in the image: resolved's stub (default), its uplink list, or left as packages made it. */
        resolvConf: z.enum(['stub', 'uplink', 'keep']).optional(),
      })
      .strict()
      .optional()
      .describe(
        'systemd-resolved: installed and enabled, /etc/resolv.conf pointing at it (stub by default), restart limits.',
      ),
    systemdBase: z
      .object({ networkd: z.boolean().optional(), networkdDispatcher: z.boolean().optional() })
      .strict()
      .optional()
      .describe('Enable systemd-networkd and networkd-dispatcher.'),
    nicNaming: z
      .object({
        namePolicy: z.string().optional(),
        alternativeNamesPolicy: z.string().optional(),
        macAddressPolicy: z.string().optional(),
      })
      .strict()
      .optional()
      .describe('Network interface naming policies (systemd .link).'),
    fetch: z
      .array(fetchSchema)
      .optional()
      .describe('Files downloaded at build time into the image, each checked against its sha256.'),
    directories: z.array(directorySchema).optional().describe('Directories created with mode and ownership.'),
    files: z.array(fileSchema).optional().describe('Files written exactly as given.'),
    systemd: z
      .array(unitSchema)
      .optional()
      .describe('Unit files written, then enabled, disabled, masked or unmasked.'),
    userScripts: z
      .array(scriptSchema)
      .optional()
      .describe(
        'Scripts run inside the image during the build (content, or a file relative to the profile).',
      ),
    filePermissions: z
      .array(filePermissionSchema)
      .optional()
      .describe('Mode and ownership of paths that already exist in the image.'),
    users: z
      .array(userSchema)
      .optional()
      .describe('Users created or changed (shell, groups, a crypt(3) password hash, lock).'),
    apparmor: z
      .object({
        enabled: z.boolean().optional(),
        profiles: z.array(z.object({ name, content: z.string(), contexts }).strict()).optional(),
      })
      .strict()
      .optional()
      .describe('AppArmor on or off, and profiles checked with apparmor_parser at build time.'),
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
      .optional()
      .describe('Kernel modules built with DKMS from a source folder relative to the profile.'),
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
      .optional()
      .describe('Huge pages and CPU isolation (kernel command line and kubelet reserved CPUs).'),
    disk: diskSchema.optional().describe('QCOW2 only: the virtual disk size and the GPT partition layout.'),
    iso: z
      .object({
        compression: z.enum(['gzip', 'lz4', 'lzo', 'xz', 'zstd']).optional(),
        threads: z.number().int().positive().optional(),
        /** Kernel command line of the live system (after boot=live). */
        cmdline: z.array(kernelToken).optional(),
      })
      .strict()
      .optional()
      .describe('The live ISO: squashfs compression and threads, live kernel command line.'),
    qcow2: z
      .object({ compress: z.boolean().optional(), compressionType: z.enum(['zlib', 'zstd']).optional() })
      .strict()
      .optional()
      .describe(
        'The QCOW2 file: compression (default true) and its type (default zlib, which every qemu-img reads; zstd needs QEMU 5.1 or later to read).',
      ),
  })
  .strict();

/** What a user writes. */
export type ProfileInput = z.input<typeof profileSchema>;
/** A profile after parsing (defaults of the schema filled in, inheritance not yet applied). */
export type Profile = z.output<typeof profileSchema>;

export type Repo = z.output<typeof repoSchema>;
export type RepoKey = NonNullable<Repo['key']>;
export type KeyUrl = z.output<typeof keyUrlSchema>;
export type Limit = z.output<typeof limitSchema>;
export type FileEntry = z.output<typeof fileSchema>;
export type UnitEntry = z.output<typeof unitSchema>;
export type Partition = z.output<typeof partitionSchema>;
