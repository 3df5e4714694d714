/** What the benchmark scripts share: the start (root, private mount namespace, a fresh folder) and the machine. */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { bootMachineHere } from '../src/boot/boot.ts';
import { insideNamespace, reexecInNamespace } from '../src/sys/namespace.ts';

/**
 * Checks root, re-executes in a private mount namespace (like the CLI), and empties `root`.
 * Returns an exit code when the caller must stop here (not root, or the re-executed run's code).
 */
export async function startBench(name: string, root: string): Promise<number | undefined> {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${name} needs root (it builds images)\n`);
    return 2;
  }
  if (!insideNamespace()) return reexecInNamespace();
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const m = machine();
  process.stderr.write(`${name}: ${m.cpus} CPUs (${m.model}), ${m.memGiB} GiB, load ${m.load.toFixed(1)}\n`);
  return undefined;
}

/** The machine the figures come from. */
export function machine() {
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    load: os.loadavg()[0] ?? 0,
    /** What `ib-native boot` runs guests on here: boot times on another CPU model do not compare. */
    boots: bootMachineHere(),
  };
}

/** The middle value (the upper one of an even count): what a bench reports of repeated runs. */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
