import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSCTL_FILE, sysctlModule } from '../../../src/modules/sysctl.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('sysctl: one file, keys sorted, header names the field', () => {
  const ops = sysctlModule.plan(
    profile({ sysctl: { 'kernel.panic': 3, 'fs.suid_dumpable': 2, 'net.ipv4.ip_forward': '1' } }),
  );
  assert.is(ops.length, 1);
  const content = written(ops, SYSCTL_FILE)!;
  assert.match(content, /^# written by ib-native from the profile field "sysctl"/);
  assert.is(withoutHeader(content), 'fs.suid_dumpable = 2\nkernel.panic = 3\nnet.ipv4.ip_forward = 1\n');
  assert.equal(ops[0]!.contexts, ['common']);
});

test('sysctl: nothing when the field is absent or empty', () => {
  assert.equal(sysctlModule.plan(profile()), []);
  assert.equal(sysctlModule.plan(profile({ sysctl: {} })), []);
});

test('sysctl: a value with a line break is rejected', () => {
  const issues = sysctlModule.validate!(profile({ sysctl: { 'kernel.panic': '3\nkernel.sysrq = 1' } }));
  assert.equal(issues, [{ path: 'sysctl.kernel.panic', message: 'must be a single line (no line breaks)' }]);
});

test.run();
