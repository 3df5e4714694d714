import { Cache } from '../cache/store.ts';
import { formatBytes } from '../doctor.ts';
import { silentLogger } from '../log.ts';
import { processRunner } from '../run/runner.ts';

/** `ib-native cache list|prune`: returns the exit code. */
export async function cacheCommand(o: {
  action: 'list' | 'prune';
  cacheDir: string;
  olderThan?: number;
  profiles?: string[];
  all: boolean;
}): Promise<number> {
  const cache = new Cache(o.cacheDir, processRunner({ logger: silentLogger }), silentLogger);
  if (o.action === 'list') {
    const rows = cache.list();
    if (!rows.length) process.stdout.write(`cache ${o.cacheDir} is empty\n`);
    for (const e of rows)
      process.stdout.write(
        `${e.kind.padEnd(8)} ${e.key}  ${formatBytes(e.bytes).padStart(9)}  ${e.ageDays.toFixed(1).padStart(5)} days  ${e.summary}  used by: ${e.usedBy.join(', ')}\n`,
      );
    return 0;
  }
  const profiles = o.profiles?.length ? o.profiles : undefined;
  if (!o.all && o.olderThan === undefined && !profiles) {
    process.stderr.write('error: cache prune needs --older-than DAYS, --profile NAME or --all\n');
    return 2;
  }
  const { removed, kept } = await cache.prune({
    olderThanDays: o.olderThan,
    onlyUsedBy: profiles,
    all: o.all,
  });
  process.stdout.write(removed.length ? `removed: ${removed.join(', ')}\n` : 'nothing to remove\n');
  for (const k of kept) process.stdout.write(`${k}\n`);
  return 0;
}
