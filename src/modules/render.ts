/**
 * Small pure helpers the modules share to render configuration text safely.
 */

/** First line of every generated config file, naming the profile field it comes from. */
export function header(field: string, comment = '#'): string {
  return `${comment} written by ib-native from the profile field "${field}"; edit the profile, not this file\n`;
}

/** Ensure text ends with exactly one newline (empty stays empty). */
export function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** A POSIX-shell double-quoted string, for KEY="value" files that shells source (/etc/default/*). */
export function shDoubleQuote(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export interface Issue {
  path: string;
  message: string;
}

/** Issues for values that would break a line-based file (one setting per line). */
export function singleLineIssues(entries: [path: string, value: string | number | undefined][]): Issue[] {
  return entries
    .filter(([, v]) => typeof v === 'string' && /[\r\n]/.test(v))
    .map(([path]) => ({ path, message: 'must be a single line (no line breaks)' }));
}

/** A kernel command line token: `name=value`, or the bare `name` for `true`. */
export function kernelArg(name: string, value: string | number | true): string {
  return value === true ? name : `${name}=${value}`;
}
