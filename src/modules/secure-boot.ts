import { getDistro } from '../distro/index.ts';
import type { SignedBootChain } from '../distro/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import type { Issue } from './render.ts';
import type { ConfigModule } from './types.ts';

type SecureBootFields = Pick<ResolvedProfile, 'distro' | 'secureBoot' | 'kernel'>;

/** Kernel packages of the profile that hold an unsigned kernel, by the distro's naming. */
function unsignedKernels(p: SecureBootFields, chain: SignedBootChain): string[] {
  return (p.kernel?.packages ?? []).map((k) => k.split('=')[0]!).filter((k) => chain.unsignedKernel.test(k));
}

/**
 * The signed chain the images boot through, or undefined when they use ib-native's own (unsigned)
 * GRUB: `secureBoot` as set, else on wherever the distro ships a signed chain and the profile adds
 * no unsigned kernel. An impossible `secureBoot: true` is refused by the module's validate.
 */
export function secureBootChain(p: SecureBootFields): SignedBootChain | undefined {
  const chain = getDistro(p.distro).signedChain;
  if (!chain || p.secureBoot === false) return undefined;
  if (p.secureBoot === undefined && unsignedKernels(p, chain).length) return undefined;
  return chain;
}

/** How a plan names the UEFI boot of a profile's images. */
export function describeUefiBoot(p: SecureBootFields): string {
  const chain = secureBootChain(p);
  return chain ? `UEFI by shim + ${chain.vendor}'s signed GRUB (Secure Boot)` : 'UEFI by own unsigned GRUB';
}

/** Plan-time warnings: DKMS modules are unsigned, and a kernel locked down by Secure Boot refuses them. */
export function secureBootWarnings(p: SecureBootFields & Pick<ResolvedProfile, 'dkms'>): string[] {
  if (!secureBootChain(p) || !p.dkms?.length) return [];
  const names = p.dkms.map((d) => d.name).join(', ');
  return [
    `secureBoot is on and the profile builds DKMS modules (${names}): they are not signed, so a node booted with Secure Boot enforced will refuse to load them; set secureBoot: false, or enrol a key of your own (MOK) and sign them`,
  ];
}

/** The distro's signed boot chain (shim, signed GRUB) installed in the image when Secure Boot is on. */
export const secureBootModule: ConfigModule = {
  name: 'secure-boot',
  packages: (p) => [...(secureBootChain(p)?.packages ?? [])],
  plan: () => [],
  validate(p) {
    if (p.secureBoot !== true) return [];
    const chain = getDistro(p.distro).signedChain;
    const issues: Issue[] = [];
    if (!chain)
      issues.push({
        path: 'secureBoot',
        message: `${p.distro} has no signed boot chain known to ib-native; set secureBoot: false`,
      });
    else
      for (const k of unsignedKernels(p, chain))
        issues.push({
          path: 'kernel.packages',
          message: `${k} is an unsigned kernel, which Secure Boot refuses to start; remove it or set secureBoot: false`,
        });
    return issues;
  },
};
