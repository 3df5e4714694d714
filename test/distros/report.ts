/**
 * The release matrix's results (pure): one record per release, kept in results.json and
 * rendered as the README table between the distros markers.
 */

export type Boot = 'qcow2-bios' | 'qcow2-uefi' | 'iso-bios';
export const BOOTS: readonly Boot[] = ['qcow2-bios', 'qcow2-uefi', 'iso-bios'];

export interface ReleaseResult {
  distro: string;
  /** ISO 8601 time the release's run ended. */
  date: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped or what failed first. */
  reason?: string;
  bootstrapper?: string;
  /** Seconds of the rootfs stage, and whether it was built (cold) or taken from the cache. */
  rootfsSeconds?: number;
  rootfsCold?: boolean;
  buildSeconds?: number;
  isoBytes?: number;
  qcow2Bytes?: number;
  /** Seconds from QEMU start to `login:` on the serial console. */
  boots: Partial<Record<Boot, number>>;
  /** `ID VERSION_ID VERSION_CODENAME` read from /etc/os-release of the booted machine. */
  osRelease?: string;
  /** The host's 1-minute load average when the release's run started (2 shared cores). */
  load?: number;
}

export const BEGIN = '<!-- distros:begin (written by npm run test:distros) -->';
export const END = '<!-- distros:end -->';

const mb = (b: number | undefined) => (b === undefined ? '–' : `${Math.round(b / 1024 ** 2)} MB`);
const sec = (s: number | undefined) => (s === undefined ? '–' : `${s.toFixed(0)} s`);

/** Results merged by release: a run replaces the records of the releases it ran. */
export function mergeResults(old: readonly ReleaseResult[], run: readonly ReleaseResult[]): ReleaseResult[] {
  const byName = new Map(old.map((r) => [r.distro, r]));
  for (const r of run) byName.set(r.distro, r);
  return [...byName.values()];
}

/** The Markdown table, in the given release order. */
export function renderTable(results: readonly ReleaseResult[], order: readonly string[]): string {
  const rows = [...results].sort((a, b) => order.indexOf(a.distro) - order.indexOf(b.distro));
  const lines = [
    '| release | result | date (UTC) | os-release (booted) | rootfs | ISO | QCOW2 | QCOW2 BIOS | QCOW2 UEFI (Secure Boot since 2026-12-03) | ISO BIOS | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const rootfs =
      r.rootfsSeconds === undefined
        ? '–'
        : `${sec(r.rootfsSeconds)} ${r.rootfsCold ? 'cold' : 'cached'}${r.bootstrapper ? ` (${r.bootstrapper})` : ''}`;
    const result =
      r.status === 'passed'
        ? 'passed'
        : `**${r.status}**${r.reason ? `: ${r.reason.replace(/\|/g, '/').split('\n')[0]}` : ''}`;
    lines.push(
      `| ${r.distro} | ${result} | ${r.date.slice(0, 16).replace('T', ' ')} | ${r.osRelease ?? '–'} | ${rootfs} | ${mb(r.isoBytes)} | ${mb(r.qcow2Bytes)} | ${BOOTS.map((b) => sec(r.boots[b])).join(' | ')} | ${r.load?.toFixed(1) ?? '–'} |`,
    );
  }
  return lines.join('\n');
}

/** README text with the section between the markers replaced (appended when absent). */
export function replaceSection(readme: string, table: string): string {
  const section = `${BEGIN}\n${table}\n${END}`;
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) return `${readme.replace(/\n*$/, '\n')}\n${section}\n`;
  return readme.slice(0, a) + section + readme.slice(b + END.length);
}
