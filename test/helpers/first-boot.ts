/**
 * A clean first boot (issue 13), judged from inside the booted image: cloud-init finished with no
 * error, systemd reached `running` with no failed unit. test/fixtures/first-boot-status.sh reports
 * it on the serial console once cloud-init is over; `firstBootUserData` starts it from runcmd and
 * `assertCleanFirstBoot` judges the console.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { REPO } from './host.ts';

export const STATUS_SCRIPT = path.join(REPO, 'test/fixtures/first-boot-status.sh');
/** The status script's last line: boot with `--expect FIRST_BOOT_DONE`. */
export const FIRST_BOOT_DONE = 'IBN-CHECKS-DONE';
const INSTALLED = '/usr/local/sbin/ibn-first-boot-status';

/** write_files entries (under a `write_files:` key) that install the status script. */
export function statusScriptFile(): string[] {
  return [
    `  - path: ${INSTALLED}`,
    "    permissions: '0755'",
    '    encoding: b64',
    `    content: ${readFileSync(STATUS_SCRIPT).toString('base64')}`,
  ];
}

/**
 * The runcmd entry that starts the status script outside cloud-init (a transient unit), so that
 * cloud-init can finish while the script waits for it.
 */
export const STATUS_RUNCMD = `  - [ systemd-run, --unit=ibn-first-boot-status, /bin/sh, ${INSTALLED} ]`;

/** #cloud-config: the given runcmd entries (YAML list items), then the status script. */
export function firstBootUserData(runcmd: string[] = []): string {
  return [
    '#cloud-config',
    'write_files:',
    ...statusScriptFile(),
    'runcmd:',
    ...runcmd,
    STATUS_RUNCMD,
    '',
  ].join('\n');
}

/** The console of a boot that ran the status script shows a clean first boot. */
export function assertCleanFirstBoot(consoleText: string, what: string): void {
  const checks = parseChecks(consoleText);
  const one = (name: string): string => {
    const v = checks.get(name)?.[0];
    assert.ok(v !== undefined, `${what}: no "IBN-CHECK ${name}" line on the console`);
    return v!;
  };
  const ci = one('cloud-init');
  assert.match(ci, /^rc=0 /, `${what}: cloud-init status failed: ${ci}`);
  // `rc=0 status: done|...` (cloud-init 23+), `rc=0 |status: done|...` (22.4 prints a line of dots)
  assert.match(ci, /(^rc=0 |\|)\s*status: done(\||$)/, `${what}: cloud-init did not finish cleanly: ${ci}`);
  // cloud-init 23.4+ lists errors (and recoverable ones) even when the status is done
  for (const m of ci.matchAll(/(?:^|\|)\s*((?:recoverable_)?errors): ?([^|]*)/g))
    assert.ok(['', '[]', '{}'].includes(m[2]!.trim()), `${what}: cloud-init reported ${m[1]}: ${ci}`);
  // every cloud-config it read (the image's cloud.cfg.d, the seed's user-data) passed its schema:
  // cloud-init 22.4 (bookworm) only warns on the console, 23.4+ also lists it in recoverable_errors
  assert.not.match(consoleText, /Invalid cloud-config/, `${what}: cloud-init found a config invalid`);
  const failed = one('failed-units');
  const logs = (checks.get('failed-unit-log') ?? []).join('\n');
  assert.is(failed, 'none', `${what}: failed systemd units: ${failed}\n${logs}`);
  assert.is(one('system-state'), 'running', `${what}: systemd is not running cleanly`);
}

/** Secure Boot as the booted image saw it: its SecureBoot variable (and mokutil's line when present). */
export function secureBootSeen(consoleText: string): { state: string; mokutil: string } | undefined {
  const v = parseChecks(consoleText).get('secureboot')?.[0];
  if (v === undefined) return undefined;
  const [state, ...rest] = v.split(' ');
  return { state: state!, mokutil: rest.join(' ') };
}

/** `IBN-CHECK <name> <value>` lines of a console log: name -> values in order. */
export function parseChecks(consoleText: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of consoleText.replace(/\r/g, '').matchAll(/IBN-CHECK (\S+) ([^\n]*)/g)) {
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!.trim());
    out.set(m[1]!, list);
  }
  return out;
}
