import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelModulesModule } from '../../../src/modules/kernel-modules.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('kernelModules: one modules-load file per module, options in modprobe.d', () => {
  const ops = kernelModulesModule.plan(
    profile({
      kernel: {
        modules: { load: [{ name: '8021q' }, { name: 'bonding', args: { mode: 4, miimon: '100' } }] },
      },
    }),
  );
  assert.equal(
    ops.map((o) => (o.kind === 'writeFile' ? o.path : o.kind)),
    [
      '/etc/modules-load.d/99-8021q.conf',
      '/etc/modules-load.d/99-bonding.conf',
      '/etc/modprobe.d/zz-ib-native-bonding.conf',
    ],
  );
  assert.is(withoutHeader(written(ops, '/etc/modules-load.d/99-8021q.conf')), '8021q\n');
  assert.is(
    withoutHeader(written(ops, '/etc/modprobe.d/zz-ib-native-bonding.conf')),
    'options bonding mode=4 miimon=100\n',
  );
});

test('kernelModules: a blacklisted module cannot be loaded by alias either', () => {
  const ops = kernelModulesModule.plan(profile({ kernel: { modules: { blacklist: ['krbd'] } } }));
  assert.is(
    withoutHeader(written(ops, '/etc/modprobe.d/99-blacklist-krbd.conf')),
    'blacklist krbd\ninstall krbd /bin/false\n',
  );
});

test('kernelModules: loading and blacklisting the same module, or a spaced option, is an error', () => {
  const issues = kernelModulesModule.validate!(
    profile({
      kernel: {
        modules: {
          load: [{ name: 'krbd' }, { name: 'bonding', args: { mode: 'a b' } }],
          blacklist: ['krbd'],
        },
      },
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['kernel.modules.load[0]', 'kernel.modules.load[1].args.mode'],
  );
  assert.match(issues[0]!.message, /also in kernel.modules.blacklist/);
});

test.run();
