import { liveCmdline } from '../modules/grub.ts';
import { describeUefiBoot, secureBootChain } from '../modules/secure-boot.ts';
import { buildIso, defaultMetaData, isoCommand, repackIso } from '../stages/iso.ts';
import { sha256Text } from '../sys/files.ts';
import type { ImageFormat } from './types.ts';

/** Seed of the ISO's generated ids and config-drive uuid: stable per profile, rootfs and site. */
const idSeed = (profile: string, rootfsKey: string, site?: string) =>
  `${profile}:${rootfsKey}${site === undefined ? '' : `:site:${site}`}`;

/** The live ISO: the base squashfs and one squashfs per configuration layer, GRUB for BIOS and UEFI, a config drive. */
export const iso: ImageFormat<'live'> = {
  name: 'iso',
  family: 'live',
  plan: (plan, site) => {
    const first = site === undefined || site === plan.sites?.[0];
    const whole = `live ISO: base squashfs + config-common + config-iso layers, GRUB BIOS, ${describeUefiBoot(plan.profile)}, config drive`;
    return {
      describe:
        site === undefined
          ? whole
          : first
            ? `${whole} of site ${site}`
            : `site ${site}: the first site's ISO tree with this site's config drive (xorriso only)`,
      commands: [
        isoCommand('{work}', '{out}', idSeed(plan.profile.name, plan.rootfsKey, site), plan.sourceDateEpoch),
      ],
    };
  },
  async make(c) {
    const { profile, plan, product } = c;
    const seed = idSeed(profile.name, plan.rootfsKey, c.site?.name);
    const configDrive = {
      ...c.configDrive,
      generatedMetaData: defaultMetaData(uuidFor(seed), profile.hostname, profile.name),
    };
    if (c.site?.reuse) {
      await repackIso(c.runner, c.logger, {
        work: c.paths.work,
        out: c.paths.out,
        configDrive,
        idSeed: seed,
        sourceDateEpoch: c.sourceDateEpoch,
        command: c.commands[0],
        site: c.site.name,
      });
      return;
    }
    await buildIso(c.runner, c.logger, {
      layered: { base: await product.baseSquashfs(), layers: product.layers },
      tree: product.tree,
      work: c.paths.work,
      out: c.paths.out,
      kernelVersion: product.kernelVersion,
      cmdline: liveCmdline(profile),
      marker: `ib-native-${plan.rootfsKey.slice(0, 12)}`,
      title: `${profile.name} (${plan.distro.name})`,
      squashfs: product.squashfs,
      idSeed: seed,
      sourceDateEpoch: c.sourceDateEpoch,
      configDrive,
      command: c.commands[0],
      signedChain: secureBootChain(profile),
    });
  },
};

function uuidFor(seed: string): string {
  const h = sha256Text(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
