import type { Runner } from './run/runner.ts';

/** argv that prints each host tool's version; the first line of output is kept. */
export const VERSION_PROBES: Record<string, string[]> = {
  debootstrap: ['debootstrap', '--version'],
  mksquashfs: ['mksquashfs', '-version'],
  xorriso: ['xorriso', '-version'],
  'grub-mkstandalone': ['grub-mkstandalone', '--version'],
  'qemu-img': ['qemu-img', '--version'],
  sgdisk: ['sgdisk', '--version'],
  rsync: ['rsync', '--version'],
  'mkfs.ext4': ['mkfs.ext4', '-V'],
  mtools: ['mtools', '--version'],
};

/** Every probe at once (a build waits on them before its manifest); keys in VERSION_PROBES's order. */
export async function hostToolVersions(runner: Runner): Promise<Record<string, string>> {
  const versions = await Promise.all(
    Object.values(VERSION_PROBES).map(async (argv) => {
      try {
        const r = await runner.run(argv, { okExitCodes: [1] });
        return (
          `${r.stdout}\n${r.stderr}`
            .split('\n')
            .find((l) => l.trim())
            ?.trim() ?? 'unknown'
        );
      } catch {
        return 'not found';
      }
    }),
  );
  return Object.fromEntries(Object.keys(VERSION_PROBES).map((name, i) => [name, versions[i]!]));
}
