/**
 * The bad-input tables (test/unit/bad-inputs.test.ts, test/integration/50-bad-inputs.test.ts):
 * profile files to write, what a rejection must look like, and proof that nothing changed.
 */
import { existsSync, lstatSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostMountsUnder, loopsUnder, REPO } from './host.ts';

export const MINIMAL = path.join(REPO, 'profiles/minimal.ts');

/** One bad input: the CLI arguments (built once the sandbox exists) and what the error must name. */
export interface BadInput {
  name: string;
  args: (dir: string) => string[];
  /** The message names the cause: field path, flag or file. */
  names: RegExp;
  /** Exit code, default 2 (user error). */
  code?: number;
  /** Why the case cannot run here (checked when the table runs). */
  skip?: () => string | undefined;
}

/** A .ts profile that extends minimal with `fields` (object literal source). */
export function childProfile(dir: string, name: string, fields: string): string {
  const file = path.join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `import { defineProfile } from 'ib-native';\nexport default defineProfile({ name: '${name}', extends: ${JSON.stringify(MINIMAL)}, ${fields} });\n`,
  );
  return file;
}

/** A file with exactly this text. */
export function rawFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Every file and folder under `dir` with type, size and mtime: equal listings mean nothing changed. */
export function treeListing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = path.join(d, n);
      const s = lstatSync(p);
      out.push(`${path.relative(dir, p)} ${s.isDirectory() ? 'dir' : s.size} ${s.mtimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

export interface Rejection {
  exitCode: number;
  stderr: string;
}

type Assert = {
  is: (a: unknown, b: unknown, m?: string) => void;
  equal: (a: unknown, b: unknown, m?: string) => void;
  match: (a: string, b: RegExp, m?: string) => void;
  not: { match: (a: string, b: RegExp, m?: string) => void };
};

/** A user error: its exit code, the cause named on the `error:` line(s), a `hint:` line, no stack. */
export function assertRejected(assert: Assert, c: BadInput, r: Rejection): void {
  const where = `${c.name}:\n${r.stderr.slice(-1500)}`;
  assert.is(r.exitCode, c.code ?? 2, `exit code, ${where}`);
  assert.match(r.stderr, /^error: /m, `no "error:" line, ${where}`);
  assert.match(r.stderr, c.names, `the message does not name the cause, ${where}`);
  assert.match(r.stderr, /^hint: \S/m, `no "hint:" line, ${where}`);
  assert.not.match(
    r.stderr,
    /internal error|\n\s+at .+:\d+:\d+\)?\n/,
    `reported as an internal error, ${where}`,
  );
}

/** Listings of the folders a run may not change, and the mounts and loop devices under them. */
export function hostState(dirs: readonly string[]): string {
  return dirs
    .map((d) =>
      [`# ${d}`, ...treeListing(d), ...hostMountsUnder(d).map((m) => `mount ${m}`), ...loopsUnder(d)].join(
        '\n',
      ),
    )
    .join('\n');
}

/** Profile-field cases: each is `plan --profile <file>` on a file written into the sandbox. */
export const PROFILE_CASES: BadInput[] = [
  {
    name: 'unknown profile key',
    args: (d) => ['plan', '--profile', childProfile(d, 'unknownkey', `pakages: ['jq']`)],
    names: /unknownkey\.ts.*\n.*unknown key "pakages"/,
  },
  {
    name: 'sysctl name with spaces',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'sysctlspace', `sysctl: { 'net.ipv4 ip_forward': '1' }`),
    ],
    names: /sysctl\["net\.ipv4 ip_forward"\]: .*no spaces/,
  },
  {
    name: 'limit type other than soft/hard/-',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'limittype',
        `limits: [{ name: 'n', domain: '*', type: 'medium', item: 'nofile', value: 1024 }]`,
      ),
    ],
    names: /limits\[0\]\.type: must be soft, hard or -/,
  },
  {
    name: 'overlapping partitions',
    args: (d) => ['plan', '--profile', childProfile(d, 'overlap', disk({ boot: ['500MiB', '1284MiB'] }))],
    names: /disk\.partitions\[3\]: overlaps disk\.partitions\[2\]/,
  },
  {
    name: 'partition end before start',
    args: (d) => ['plan', '--profile', childProfile(d, 'endbefore', disk({ boot: ['1284MiB', '516MiB'] }))],
    names: /disk\.partitions\[3\]\.end: must be after start \(1284MiB\)/,
  },
  {
    name: 'no root partition',
    args: (d) => ['plan', '--profile', childProfile(d, 'noroot', disk({ rootMount: '/data' }))],
    names: /disk\.partitions: no root partition/,
  },
  {
    name: 'ESP too small',
    args: (d) => ['plan', '--profile', childProfile(d, 'espsmall', disk({ efi: ['5MiB', '100MiB'] }))],
    names: /disk\.partitions\[2\]: EFI system partition is too small/,
  },
  {
    name: 'layout larger than the disk',
    args: (d) => ['plan', '--profile', childProfile(d, 'toolarge', `disk: { size: '1G' }`)],
    names: /disk\.partitions\[0\]\.start: 1284MiB is beyond the end of the 1G disk/,
  },
  {
    name: 'bad package name',
    args: (d) => ['plan', '--profile', childProfile(d, 'badpkg', `packages: ['Bad_Package']`)],
    names: /packages\[\d+\]: must be a Debian package name/,
  },
  {
    name: 'bad octal mode',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'badmode', `files: [{ path: '/etc/x', content: 'x', mode: '0999' }]`),
    ],
    names: /files\[0\]\.mode: must be an octal mode/,
  },
  {
    name: 'relative file path',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'relpath', `files: [{ path: 'etc/x', content: 'x' }]`),
    ],
    names: /files\[0\]\.path: must be an absolute path/,
  },
  {
    name: 'extends loop',
    args: (d) => {
      rawFile(d, 'loopb.ts', `export default { name: 'loopb', extends: './loopa.ts' };\n`);
      return [
        'plan',
        '--profile',
        rawFile(d, 'loopa.ts', `export default { name: 'loopa', extends: './loopb.ts' };\n`),
      ];
    },
    names: /inheritance loops: .*loopa\.ts -> .*loopb\.ts -> .*loopa\.ts/,
  },
  {
    name: 'extends an unknown profile',
    args: (d) => [
      'plan',
      '--profile',
      rawFile(d, 'extunknown.ts', `export default { name: 'extunknown', extends: 'no-such-base' };\n`),
    ],
    names: /no profile named "no-such-base"/,
  },
  {
    name: 'remove of something not inherited',
    args: (d) => ['plan', '--profile', childProfile(d, 'removenot', `remove: { packages: ['emacs'] }`)],
    names: /remove\.packages: nothing inherited to remove named "emacs"/,
  },
  {
    name: 'repo without key and without trusted',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'repokey',
        `repos: [{ name: 'extra', url: 'http://127.0.0.1:8080/x', suite: 'stable', packages: ['foo'] }]`,
      ),
    ],
    names: /repos\[0\]\.key: repo "extra" installs packages but has no key/,
  },
  {
    name: 'repo key file missing',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'repokeymissing',
        `repos: [{ name: 'extra', url: 'http://127.0.0.1:8080/x', suite: 'stable', key: './keys/nope.asc', packages: ['foo'] }]`,
      ),
    ],
    names: /repos\[0\]\.key: key file .*keys\/nope\.asc not found/,
  },
  {
    name: 'repo with a key and trusted: true',
    args: (d) => {
      rawFile(
        d,
        'k.asc',
        '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n',
      );
      return [
        'plan',
        '--profile',
        childProfile(
          d,
          'repoboth',
          `repos: [{ name: 'extra', url: 'http://127.0.0.1:8080/x', suite: 'stable', key: './k.asc', trusted: true, packages: ['foo'] }]`,
        ),
      ];
    },
    names: /repos\[0\]\.trusted: repo "extra" has a key and trusted: true/,
  },
  {
    name: 'DKMS source missing',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'dkmsmissing', `dkms: [{ name: 'i40e', version: '2.0', source: './no-such-src' }]`),
    ],
    names: /dkms\[0\]\.source: .*no-such-src is not a folder/,
  },
  {
    name: 'user script file missing',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'scriptmissing', `userScripts: [{ name: 's', file: './no-such-script.sh' }]`),
    ],
    names: /userScripts\[0\]\.file: .*no-such-script\.sh is not a file/,
  },
  {
    name: 'unit name without suffix',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'unitnosuffix', `systemd: [{ name: 'foo', enabled: true }]`),
    ],
    names: /systemd\[0\]\.name: must be a systemd unit name/,
  },
  {
    name: 'password in clear text rather than a hash',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'clearpw', `users: [{ name: 'ops', passwordHash: 'hunter2' }]`),
    ],
    names: /users\[0\]\.passwordHash: must be a crypt\(3\) hash .*never a clear-text password/,
  },
  {
    name: 'fetch without sha256',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'fetchnosha', `fetch: [{ url: 'http://127.0.0.1/x.tar.gz' }]`),
    ],
    names: /fetch\[0\]\.sha256: is required/,
  },
  {
    name: 'unknown distro in the profile',
    args: (d) => ['plan', '--profile', childProfile(d, 'baddistro', `distro: 'arch' as never`)],
    names: /distro: Invalid enum value.*'arch'/,
  },
  {
    name: 'syntax error in a .ts profile',
    args: (d) => [
      'plan',
      '--profile',
      rawFile(d, 'syntax.ts', `export default { name: 'syntax', packages: ['jq' };\n`),
    ],
    names: /cannot read profile .*syntax\.ts: .*syntax\.ts:1:\d+/,
  },
  {
    name: 'YAML syntax error',
    args: (d) => ['plan', '--profile', rawFile(d, 'bad.yaml', 'name: bad\npackages: [jq\n  - x: : :\n')],
    names: /cannot read profile .*bad\.yaml: .*line 2, column \d+/,
  },
  {
    name: 'JSON syntax error',
    args: (d) => ['plan', '--profile', rawFile(d, 'bad.json', '{ "name": "bad", }\n')],
    names: /cannot read profile .*bad\.json: /,
  },
  {
    name: '.ts profile without a default export',
    args: (d) => [
      'plan',
      '--profile',
      rawFile(d, 'nodefault.ts', `export const p = { name: 'nodefault' };\n`),
    ],
    names: /nodefault\.ts has no default export/,
  },
  {
    name: 'profile file not found',
    args: (d) => ['plan', '--profile', path.join(d, 'no-such-profile.ts')],
    names: /profile file not found: .*no-such-profile\.ts/,
  },
  {
    name: 'profile with an unsupported extension',
    args: (d) => ['plan', '--profile', rawFile(d, 'profile.txt', 'name: x\n')],
    names: /profile .*profile\.txt has an unsupported extension/,
  },
  // issue 11: values that would inject into an apt source, apt's argv, grub.cfg, fstab or a unit
  {
    name: 'repo suite with a line break (Trusted: yes injection)',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'suitenl',
        `repos: [{ name: 'x', url: 'http://127.0.0.1/x', suite: 'stable\\nTrusted: yes', trusted: true }]`,
      ),
    ],
    names: /repos\[0\]\.suite: must be an apt suite/,
  },
  {
    name: 'repo URL with a line break',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'urlnl',
        `repos: [{ name: 'x', url: 'http://127.0.0.1/x\\nTrusted: yes', suite: 's', trusted: true }]`,
      ),
    ],
    names: /repos\[0\]\.url: must not contain spaces, line breaks/,
  },
  {
    name: 'repo component with a line break',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'compnl',
        `repos: [{ name: 'x', url: 'http://127.0.0.1/x', suite: 's', components: ['main\\nTrusted: yes'], trusted: true }]`,
      ),
    ],
    names: /repos\[0\]\.components\[0\]: must be an apt component/,
  },
  {
    name: 'profile mirror with a line break',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'mirrornl', `mirror: 'http://deb.debian.org/debian\\nTrusted: yes'`),
    ],
    names: /mirror: (must not contain spaces, line breaks|is not a http, https, file URL \(one line)/,
  },
  {
    name: 'containerd.package as an apt option',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'ctrdopt', `containerd: { enabled: true, package: '--allow-unauthenticated' }`),
    ],
    names: /containerd\.package: must be a Debian package name/,
  },
  {
    name: 'kernel.cmdline value adding a menuentry',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'cmdlinemenu',
        `kernel: { cmdline: { quiet: "x'\\n}\\nmenuentry 'evil' { linux /vmlinuz init=/bin/sh" } }`,
      ),
    ],
    names: /kernel\.cmdline\.quiet: must be a kernel parameter value/,
  },
  {
    name: 'iso.cmdline token with GRUB syntax',
    args: (d) => ['plan', '--profile', childProfile(d, 'isotoken', `iso: { cmdline: ['boot=live;echo'] }`)],
    names: /iso\.cmdline\[0\]: must be one kernel command line token/,
  },
  {
    name: 'grub.serialCommand with a second command',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'serialcmd',
        `grub: { serialCommand: 'serial --unit=0\\nmenuentry evil { linux /k init=/bin/sh }' }`,
      ),
    ],
    names: /grub\.serialCommand: must be a GRUB serial command/,
  },
  {
    name: 'partition mountpoint escaping with ..',
    args: (d) => ['plan', '--profile', childProfile(d, 'mountdotdot', disk({ bootMount: '/../../x' }))],
    names: /disk\.partitions\[3\]\.mountpoint: must be an absolute path of plain names/,
  },
  {
    name: 'fstab options with a space',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'fstabspace', disk({ bootOptions: 'defaults 0 0\\nUUID=x / ext4' })),
    ],
    names: /disk\.partitions\[3\]\.fstabOptions: must be comma-separated fstab options/,
  },
  {
    name: 'file path with a line break',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'pathnl', `files: [{ path: '/etc/a\\nb', content: 'x' }]`),
    ],
    names: /files\[0\]\.path: must not contain control characters/,
  },
  {
    name: 'file path with a NUL',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'pathnul', `files: [{ path: '/etc/a\\u0000b', content: 'x' }]`),
    ],
    names: /files\[0\]\.path: must not contain control characters/,
  },
  {
    name: 'passwordHash that only looks like a crypt hash',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'shorthash', `users: [{ name: 'ops', passwordHash: '$6$hunter2' }]`),
    ],
    names: /users\[0\]\.passwordHash: must be a crypt\(3\) hash/,
  },
  {
    name: 'user group with a line break',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'groupnl', `users: [{ name: 'ops', groups: ['adm\\nroot'] }]`),
    ],
    names: /users\[0\]\.groups\[0\]: must be a group name/,
  },
  {
    name: 'user shell with a line break',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'shellnl', `users: [{ name: 'ops', shell: '/bin/sh\\nx' }]`),
    ],
    names: /users\[0\]\.shell: must be an absolute path/,
  },
  {
    name: 'file owner that is a chown option',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(
        d,
        'owneropt',
        `files: [{ path: '/etc/x', content: 'x', owner: '--reference=/etc/shadow' }]`,
      ),
    ],
    names: /files\[0\]\.owner: must be a user or group name/,
  },
  {
    name: 'malformed kubelet.version',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'kubever', `kubelet: { enabled: true, version: '1.21 --allow-downgrades' }`),
    ],
    names: /kubelet\.version: must be a Debian package version/,
  },
  {
    name: 'hostname over 63 characters',
    args: (d) => ['plan', '--profile', childProfile(d, 'longhost', `hostname: '${'a'.repeat(64)}'`)],
    names: /hostname: must be at most 63 characters/,
  },
  {
    name: 'remove key hitting an Object prototype name',
    args: (d) => [
      'plan',
      '--profile',
      childProfile(d, 'removeproto', `remove: { grub: ['constructor', 'toString'] }`),
    ],
    names: /remove\.grub: nothing inherited to remove named "constructor"/,
  },
  {
    name: 'duplicate key in a JSON profile',
    args: (d) => [
      'plan',
      '--profile',
      rawFile(d, 'dupkey.json', '{ "name": "dupkey", "hostname": "a", "hostname": "b" }\n'),
    ],
    names: /cannot read profile .*dupkey\.json: duplicate key/,
  },
  {
    name: 'TS profile calling process.exit',
    args: (d) => [
      'plan',
      '--profile',
      rawFile(d, 'exits.ts', `process.exit(0);\nexport default { name: 'exits' };\n`),
    ],
    names: /profile .*exits\.ts called process\.exit\(0\) while loading/,
  },
  {
    name: 'profile larger than the size cap',
    args: (d) => [
      'plan',
      '--profile',
      rawFile(d, 'huge.yaml', `name: huge\ndescription: ${'x'.repeat(4 * 1024 * 1024)}\n`),
    ],
    names: /profile .*huge\.yaml is \d+ bytes, more than the 4194304/,
  },
];

/** The default partition layout with one partition changed (object literal source). */
function disk(o: {
  boot?: [string, string];
  efi?: [string, string];
  rootMount?: string;
  bootMount?: string;
  bootOptions?: string;
}): string {
  const [bs, be] = o.boot ?? ['516MiB', '1284MiB'];
  const [es, ee] = o.efi ?? ['5MiB', '516MiB'];
  return `disk: { partitions: [
    { name: 'root', mountpoint: '${o.rootMount ?? '/'}', filesystem: 'ext4', start: '1284MiB', end: '100%' },
    { name: 'bios', filesystem: 'none', start: '1MiB', end: '5MiB', flags: ['bios_grub'] },
    { name: 'efi', mountpoint: '/boot/efi', filesystem: 'vfat', start: '${es}', end: '${ee}', flags: ['esp'] },
    { name: 'boot', mountpoint: ${JSON.stringify(o.bootMount ?? '/boot')}, filesystem: 'ext4', start: '${bs}', end: '${be}'${o.bootOptions ? `, fstabOptions: ${JSON.stringify(o.bootOptions)}` : ''} },
  ] }`;
}
