import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { namespaceClaimHolds, withoutProxyArgs } from '../../../src/sys/namespace.ts';

test('withoutProxyArgs: --proxy URL and --proxy=URL leave the argv, the value is returned', () => {
  assert.equal(withoutProxyArgs(['build', '--proxy', 'http://u:pw@p:3128', '-p', 'x']), {
    args: ['build', '-p', 'x'],
    proxy: 'http://u:pw@p:3128',
  });
  assert.equal(withoutProxyArgs(['build', '--proxy=http://tok@p', '--no-proxy', 'h']), {
    args: ['build', '--no-proxy', 'h'],
    proxy: 'http://tok@p',
  });
  assert.equal(withoutProxyArgs(['build', '-p', 'x']), { args: ['build', '-p', 'x'] });
  // after "--" nothing is an option
  assert.equal(withoutProxyArgs(['a', '--', '--proxy', 'x']), { args: ['a', '--', '--proxy', 'x'] });
});

const tree = (ns: Record<string, string>, parents: Record<string, number>) => ({
  ppid: (p: number | 'self') => parents[String(p)],
  ns: (p: number | 'self') => ns[String(p)],
});

test('namespaceClaimHolds: only when the claim names our grandparent in another mount namespace', () => {
  const real = tree({ self: 'mnt:[2]', 100: 'mnt:[1]' }, { self: 200, 200: 100 });
  assert.ok(namespaceClaimHolds('100', real));
  // the variable set by hand: missing, not a pid, or someone else's pid
  assert.not.ok(namespaceClaimHolds(undefined, real));
  assert.not.ok(namespaceClaimHolds('1', real));
  assert.not.ok(namespaceClaimHolds('yes', real));
  // set by hand in a shell whose child we are: same namespace as the claimed process
  const same = tree({ self: 'mnt:[1]', 100: 'mnt:[1]' }, { self: 200, 200: 100 });
  assert.not.ok(namespaceClaimHolds('100', same));
  // namespaces unreadable: not trusted
  assert.not.ok(namespaceClaimHolds('100', tree({}, { self: 200, 200: 100 })));
});

test('insideNamespace: this test process, with the variable set by hand, is not inside', async () => {
  process.env.IB_NATIVE_IN_NAMESPACE = '1';
  const { insideNamespace } = await import('../../../src/sys/namespace.ts');
  assert.not.ok(insideNamespace());
  process.env.IB_NATIVE_IN_NAMESPACE = String(process.ppid);
  assert.not.ok(insideNamespace());
  delete process.env.IB_NATIVE_IN_NAMESPACE;
});

test.run();
