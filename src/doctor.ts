import { accessSync, constants, existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import {
  type Bootstrapper,
  HOST_TOOLS,
  type HostFamily,
  type HostTool,
  preferredBootstrapper,
  requirement,
  type Stage,
  stagesFor,
} from '../native-tools/tools.ts';
import { HostNotReadyError } from './errors.ts';
import { REPO_ROOT } from './package.ts';
import type { Format } from './profile/schema.ts';
import { kvmUsable } from './sys/kvm.ts';

/** The installer shipped with ib-native, wherever it is installed. */
const INSTALL_SH = join(REPO_ROOT, 'native-tools', 'install.sh');

/**
 * Host checks: which tools are present, whether we are root, KVM, nbd, free space. Deciding is pure
 * over an injectable probe; `realProbe` looks at this machine (files only, it starts no process).
 */

export interface HostProbe {
  /** Absolute path of a command found on PATH, or undefined. */
  which(command: string): string | undefined;
  exists(path: string): boolean;
  isRoot(): boolean;
  /** /dev/kvm exists and we may open it. */
  hasKvm(): boolean;
  /** QEMU starts a machine under KVM (src/sys/kvm.ts: spawns QEMU once); absent means yes. */
  kvmRuns?(): boolean;
  /** /dev/nbd0 exists, or the nbd module is loaded or can be loaded with modprobe. */
  hasNbd(): boolean;
  /** Bytes available to us on the file system holding dir (or its nearest existing parent). */
  freeBytes(dir: string): number | undefined;
  /** Which package names apply here, from /etc/os-release; undefined when neither. */
  family(): HostFamily | undefined;
}

export interface CheckHostOptions {
  /** Output formats to build (default both). */
  formats?: readonly Format[];
  /** Default debootstrap; the other one is then reported as an optional alternative. */
  bootstrapper?: Bootstrapper;
  /** Include the boot check tools (QEMU, OVMF). */
  boot?: boolean;
  /** Include the tools of `ib-native inspect`. */
  inspect?: boolean;
  /** Include the boot check and the test suite's tools (local apt repository, proxy). */
  forTests?: boolean;
  /** Check exactly these stages instead of deriving them from the options above. */
  stages?: readonly Stage[];
  /** Report the free space of this folder (e.g. the work directory). */
  dir?: string;
}

export interface DoctorRow {
  tool: string;
  ok: boolean;
  /** Where it was found. */
  found?: string;
  neededFor: string;
  package: { debian: string; ubuntu: string };
  optional: boolean;
  /** For optional tools: what is used when it is missing. */
  fallback?: string;
  stages: readonly Stage[];
}

export interface DoctorReport {
  stages: readonly Stage[];
  rows: DoctorRow[];
  /** Family whose package names the hints use (debian when the host is neither). */
  family: HostFamily;
  familyDetected: boolean;
  root: boolean;
  kvm: boolean;
  nbd: boolean;
  freeSpace?: { dir: string; bytes: number | undefined };
  missingRequired: DoctorRow[];
  missingOptional: DoctorRow[];
}

export function checkHost(opts: CheckHostOptions = {}, probe: HostProbe = realProbe): DoctorReport {
  const stages = opts.stages ?? stagesFor(opts);
  const bootstrapper = opts.bootstrapper ?? preferredBootstrapper((c) => probe.which(c) !== undefined);
  const rows: DoctorRow[] = [];
  for (const tool of HOST_TOOLS) {
    const need = requirement(tool, stages, bootstrapper);
    if (!need) continue;
    const found = findTool(tool.check, probe);
    const fallback =
      tool.fallback ?? (tool.bootstrapper && tool.bootstrapper !== bootstrapper ? bootstrapper : undefined);
    rows.push({
      tool: tool.name,
      ok: found !== undefined,
      ...(found !== undefined ? { found } : {}),
      neededFor: tool.neededFor,
      package: { ...tool.packages },
      optional: need === 'optional',
      ...(fallback ? { fallback } : {}),
      stages: tool.stages.filter((s) => stages.includes(s)),
    });
  }
  const detected = probe.family();
  return {
    stages,
    rows,
    family: detected ?? 'debian',
    familyDetected: detected !== undefined,
    root: probe.isRoot(),
    // QEMU is asked only when booting is in question (never in a build's preflight)
    kvm: probe.hasKvm() && (!opts.boot || (probe.kvmRuns?.() ?? true)),
    nbd: probe.hasNbd(),
    ...(opts.dir ? { freeSpace: { dir: opts.dir, bytes: probe.freeBytes(opts.dir) } } : {}),
    missingRequired: rows.filter((r) => !r.ok && !r.optional),
    missingOptional: rows.filter((r) => !r.ok && r.optional),
  };
}

/** Where a tool is on this host: its command, its first path present, or its first set present in full. */
function findTool(check: HostTool['check'], probe: HostProbe): string | undefined {
  if ('command' in check) return probe.which(check.command);
  if ('anyPath' in check) return check.anyPath.find((p) => probe.exists(p));
  return check.anyPathSet.find((set) => set.every((p) => probe.exists(p)))?.join(' + ');
}

/** The one apt-get command that installs these rows' packages, or undefined when there are none. */
export function installCommand(rows: readonly DoctorRow[], family: HostFamily): string | undefined {
  const pkgs = [...new Set(rows.map((r) => r.package[family]))].sort();
  return pkgs.length ? `apt-get install -y ${pkgs.join(' ')}` : undefined;
}

export function missingMessage(row: DoctorRow, family: HostFamily): string {
  const why = row.optional
    ? `which is used to ${row.neededFor} (optional${row.fallback ? `; without it: ${row.fallback}` : ''})`
    : `which is required to ${row.neededFor}`;
  return `Could not find ${row.tool}, ${why}; install it with: apt-get install ${row.package[family]}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDoctorReport(report: DoctorReport): string {
  const out: string[] = [];
  const host = report.familyDetected ? `${report.family} host` : 'host is neither Debian nor Ubuntu';
  out.push(`Host tools (${host}; for: ${report.stages.join(', ')})`, '');
  const names = report.rows.map((r) => `${r.tool}${r.optional ? ' (optional)' : ''}`);
  const width = Math.max(...names.map((n) => n.length), 4);
  report.rows.forEach((r, i) => {
    const status = r.ok ? 'ok     ' : r.optional ? 'absent ' : 'MISSING';
    out.push(`  ${status}  ${names[i]!.padEnd(width)}  ${r.ok ? r.found : r.neededFor}`);
  });
  out.push('', 'Host:');
  out.push(`  running as root  ${report.root ? 'yes' : 'no: building images needs root (mounts, chroot)'}`);
  out.push(
    `  KVM              ${report.kvm ? 'yes' : 'no: QEMU falls back to TCG emulation, booting an image takes minutes'}`,
  );
  out.push(
    `  nbd              ${report.nbd ? 'yes' : 'no: disk images are written through loop devices instead'}`,
  );
  if (report.freeSpace) {
    const { dir, bytes } = report.freeSpace;
    out.push(`  free space       ${bytes === undefined ? 'unknown' : formatBytes(bytes)} in ${dir}`);
  }
  const missing = [...report.missingRequired, ...report.missingOptional];
  if (missing.length) {
    out.push('');
    for (const r of missing) out.push(missingMessage(r, report.family));
  }
  const fixRequired = installCommand(report.missingRequired, report.family);
  const fixAll = installCommand(missing, report.family);
  out.push('');
  if (fixRequired) out.push(`To install every missing required tool: ${fixRequired}`);
  if (fixAll && fixAll !== fixRequired) out.push(`To install everything missing: ${fixAll}`);
  if (!fixAll) out.push('Every tool is present.');
  else out.push(`Or run ${INSTALL_SH} as root (add --with-tests for the test suite).`);
  return `${out.join('\n')}\n`;
}

export interface PreflightOptions extends CheckHostOptions {
  /** Fail unless running as root (building needs mounts and chroot). */
  requireRoot?: boolean;
}

/**
 * Checks the host before any work starts; throws one HostNotReadyError listing every problem (each missing
 * required tool, root) with the one apt-get command that fixes the tools. Returns the report
 * so the caller can warn about what is merely slow (no KVM) or optional.
 */
export function preflight(opts: PreflightOptions = {}, probe: HostProbe = realProbe): DoctorReport {
  const report = checkHost(opts, probe);
  const problems = report.missingRequired.map((r) => missingMessage(r, report.family));
  const hints: string[] = [];
  const fix = installCommand(report.missingRequired, report.family);
  if (fix) hints.push(`install the missing tools with: ${fix}`);
  if (opts.requireRoot && !report.root) {
    problems.push('ib-native must run as root to build images (it mounts file systems and uses chroot)');
    hints.push('run it again with sudo');
  }
  if (problems.length) {
    const head =
      problems.length === 1 ? 'the host is not ready' : `the host is not ready (${problems.length} problems)`;
    throw new HostNotReadyError(`${head}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, hints.join('; '));
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// The real host

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Whether modules.dep or modules.builtin of the running kernel lists this module. */
function kernelHasModule(name: string): boolean {
  const dir = `/lib/modules/${release()}`;
  const re = new RegExp(`(^|/)${name}\\.ko(\\.[a-z]+)?(:|$)`, 'm');
  for (const f of ['modules.dep', 'modules.builtin']) {
    try {
      if (re.test(readFileSync(join(dir, f), 'utf8'))) return true;
    } catch {
      // no such file: a kernel without modules, or a container
    }
  }
  return false;
}

export function parseOsRelease(text: string): HostFamily | undefined {
  const field = (k: string) => text.match(new RegExp(`^${k}=("?)([^"\\n]*)\\1$`, 'm'))?.[2] ?? '';
  const ids = `${field('ID')} ${field('ID_LIKE')}`.split(/\s+/);
  if (ids.includes('ubuntu')) return 'ubuntu';
  if (ids.includes('debian')) return 'debian';
  return undefined;
}

export const realProbe: HostProbe = {
  which(command) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      const p = join(dir, command);
      if (isExecutableFile(p)) return p;
    }
    return undefined;
  },
  exists: (path) => existsSync(path),
  isRoot: () => process.getuid?.() === 0,
  hasKvm() {
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  kvmRuns: () => kvmUsable().usable,
  hasNbd() {
    if (existsSync('/dev/nbd0') || existsSync('/sys/module/nbd')) return true;
    return kernelHasModule('nbd') && realProbe.which('modprobe') !== undefined;
  },
  freeBytes(dir) {
    let d = resolve(dir);
    while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
    try {
      const s = statfsSync(d);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return undefined;
    }
  },
  family() {
    try {
      return parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
    } catch {
      return undefined;
    }
  },
};
