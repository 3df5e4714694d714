/** The judge of the first-boot report (test/helpers/first-boot.ts) on real consoles' lines. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertCleanFirstBoot, secureBootSeen } from '../helpers/first-boot.ts';

const BOOKWORM =
  'IBN-CHECK cloud-init rc=0 |status: done|boot_status_code: enabled-by-generator|last_update: Thu, 03 Dec 2026 00:10:34 +0000|detail:|DataSourceNoCloud [seed=/dev/vdb][dsmode=net]';
const FOCAL =
  'IBN-CHECK cloud-init rc=0 status: done|extended_status: done|boot_status_code: enabled-by-generator|last_update: Thu, 01 Jan 1970 00:03:47 +0000|detail: DataSourceNoCloud [seed=/dev/vdb]|errors: []|recoverable_errors: {}';
const CLEAN = 'IBN-CHECK system-state running\r\nIBN-CHECK failed-units none\r\nIBN-CHECKS-DONE\r\n';

const fails = (text: string) => {
  try {
    assertCleanFirstBoot(text, 'boot');
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

test('a clean first boot passes, in the words of cloud-init 22.4 and 24', () => {
  assert.is(fails(`${BOOKWORM}\r\n${CLEAN}`), undefined);
  assert.is(fails(`noise\r\n${FOCAL}\r\n${CLEAN}`), undefined);
});

test('an error of cloud-init, a failed unit, a degraded system or a missing line fails', () => {
  const modules = FOCAL.replace('errors: []', "errors: ['Running module locale failed']");
  assert.match(fails(`${modules}\r\n${CLEAN}`) ?? '', /cloud-init reported errors/);
  const recoverable = FOCAL.replace('recoverable_errors: {}', 'recoverable_errors: {WARNING: [x]}');
  assert.match(fails(`${recoverable}\r\n${CLEAN}`) ?? '', /recoverable_errors/);
  const error = FOCAL.replace('rc=0 status: done', 'rc=1 status: error');
  assert.match(fails(`${error}\r\n${CLEAN}`) ?? '', /cloud-init status failed/);
  const failed = CLEAN.replace('failed-units none', 'failed-units ifup@ens3.service ').concat(
    'IBN-CHECK failed-unit-log ifup@ens3.service: ifup: failed to bring up ens3\r\n',
  );
  assert.match(
    fails(`${FOCAL}\r\n${failed}`) ?? '',
    /failed systemd units: ifup@ens3\.service[\s\S]*failed to bring up/,
  );
  assert.match(fails(`${FOCAL}\r\n${CLEAN.replace('running', 'degraded')}`) ?? '', /not running cleanly/);
  // cloud-init 22.4 reports a schema failure only as a console warning, its status stays done
  const schema =
    "[  120.438101] cloud-init[566]: 2026-12-03 19:11:59,379 - schema.py[WARNING]: Invalid cloud-config provided: Please run 'sudo cloud-init schema --system' to see the schema errors.";
  assert.match(fails(`${schema}\r\n${BOOKWORM}\r\n${CLEAN}`) ?? '', /cloud-init found a config invalid/);
  assert.match(fails(CLEAN) ?? '', /no "IBN-CHECK cloud-init" line/);
});

test('secureBootSeen: the state and mokutil line, or nothing when the script printed none', () => {
  assert.equal(secureBootSeen(`${CLEAN}IBN-CHECK secureboot enabled SecureBoot enabled\r\n`), {
    state: 'enabled',
    mokutil: 'SecureBoot enabled',
  });
  assert.equal(secureBootSeen('IBN-CHECK secureboot bios \n'), { state: 'bios', mokutil: '' });
  assert.is(secureBootSeen(CLEAN), undefined);
});

test.run();
