/** Small pure text helpers shared by the displays. */

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-character escapes
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// every C0 and C1 control character but the newline
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text safe for a log or a pipe: escape sequences removed, a line redrawn with `\r` reduced to
 * its last state, tabs made spaces, no control character left but `\n`.
 */
export function plainText(text: string): string {
  return text
    .replace(ANSI, '')
    .split('\n')
    .map((l) => (l.split('\r').filter(Boolean).at(-1) ?? '').replace(/\t/g, '  ').replace(CONTROL, ''))
    .join('\n');
}

/** `7.3s`, `1m05s`, `1h02m`. */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `42%`, whole percent, never 100 before the end. */
export function percent(fraction: number): string {
  const p = fraction >= 1 ? 100 : Math.min(99, Math.floor(fraction * 100));
  return `${p}%`;
}

/** A bar of `width` cells. */
export function bar(fraction: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/**
 * Seconds left at the rate seen since the step's first report, or undefined while there is too
 * little to go by (under 2 s or 1 % of progress).
 */
export function etaSeconds(
  first: { at: number; fraction: number },
  now: number,
  fraction: number,
): number | undefined {
  const elapsed = now - first.at;
  const gained = fraction - first.fraction;
  if (elapsed < 2000 || gained < 0.01 || fraction >= 1) return undefined;
  return ((1 - fraction) * elapsed) / gained / 1000;
}

/** Cut a line to `width` columns (the displays use single-width characters only). */
export function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}
