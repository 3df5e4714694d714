import { ValidationError } from '../errors.ts';
import type { Op } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { apparmorModule } from './apparmor.ts';
import { bannersModule } from './banners.ts';
import { blockedPackageIssues, blockedPackagesModule } from './blocked-packages.ts';
import { cloudInitModule } from './cloud-init.ts';
import { findConflicts, mergePackages } from './conflicts.ts';
import { containerdModule } from './containerd.ts';
import { cpuModule } from './cpu.ts';
import { directoriesModule } from './directories.ts';
import { diskModule } from './disk.ts';
import { dkmsModule } from './dkms.ts';
import { fetchModule } from './fetch.ts';
import { filePermissionsModule } from './file-permissions.ts';
import { filesModule } from './files.ts';
import { finalizeModule } from './finalize.ts';
import { grubModule } from './grub.ts';
import { hostnameModule } from './hostname.ts';
import { kdumpModule } from './kdump.ts';
import { kernelModulesModule } from './kernel-modules.ts';
import { kubeletModule } from './kubelet.ts';
import { kubernetesModule } from './kubernetes.ts';
import { limitsModule } from './limits.ts';
import { localeModule } from './locale.ts';
import { nicNamingModule } from './nic-naming.ts';
import { reposModule } from './repos.ts';
import { resolvedModule } from './resolved.ts';
import { secureBootModule } from './secure-boot.ts';
import { sysctlModule } from './sysctl.ts';
import { systemdBaseModule } from './systemd-base.ts';
import { systemdUnitsModule } from './systemd-units.ts';
import type { ConfigModule } from './types.ts';
import { unattendedUpgradesModule } from './unattended-upgrades.ts';
import { userScriptsModule } from './user-scripts.ts';
import { usersModule } from './users.ts';

/**
 * Every configuration module, in the order their operations apply: checks and fixed-purpose
 * modules first, then what the user lists (files, units, users, scripts), and finalize last.
 */
export const MODULES: readonly ConfigModule[] = [
  reposModule,
  blockedPackagesModule,
  kubernetesModule,
  diskModule,
  cloudInitModule,
  kernelModulesModule,
  limitsModule,
  sysctlModule,
  grubModule,
  secureBootModule,
  kdumpModule,
  cpuModule,
  apparmorModule,
  dkmsModule,
  containerdModule,
  kubeletModule,
  localeModule,
  hostnameModule,
  bannersModule,
  unattendedUpgradesModule,
  resolvedModule,
  systemdBaseModule,
  nicNamingModule,
  fetchModule,
  directoriesModule,
  filesModule,
  systemdUnitsModule,
  usersModule,
  userScriptsModule,
  filePermissionsModule,
  finalizeModule,
];

/**
 * The whole plan of a profile (pure apart from the file checks some validations make): every
 * module's operations in order and the packages to install (the profile's and the modules';
 * the engine adds the distro's and the repos' own). Throws one ValidationError listing every problem: module checks, package pins,
 * blocked packages requested, and operations that disagree about the same path or unit.
 */
export function planProfile(p: ResolvedProfile): { ops: Op[]; packages: string[] } {
  const issues = MODULES.flatMap((m) => m.validate?.(p) ?? []);
  const merged = mergePackages([...p.packages, ...MODULES.flatMap((m) => m.packages?.(p) ?? [])]);
  const ops = MODULES.flatMap((m) => m.plan(p));
  issues.push(...merged.issues, ...blockedPackageIssues(p, merged.packages), ...findConflicts(ops));
  if (issues.length)
    throw new ValidationError(p.sources[p.sources.length - 1] ?? `profile ${p.name}`, issues);
  return { ops, packages: merged.packages };
}
