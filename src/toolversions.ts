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

export async function hostToolVersions(runner: Runner): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, argv] of Object.entries(VERSION_PROBES)) {
    try {
      const r = await runner.run(argv, { okExitCodes: [1] });
      out[name] =
        `${r.stdout}\n${r.stderr}`
          .split('\n')
          .find((l) => l.trim())
          ?.trim() ?? 'unknown';
    } catch {
      out[name] = 'not found';
    }
  }
  return out;
}
