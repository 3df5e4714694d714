import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KDUMP_GRUB_SNIPPET, kdumpModule } from '../../../src/modules/kdump.ts';
import { profile, withoutHeader, written } from './helpers.ts';

test('kdump: grub.d snippet appends crashkernel to the default command line', () => {
  const p = profile({ kdump: { enabled: true, crashkernel: '768M' } });
  const ops = kdumpModule.plan(p);
  assert.is(
    withoutHeader(written(ops, KDUMP_GRUB_SNIPPET)),
    'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT crashkernel=768M"\n',
  );
  assert.equal(kdumpModule.packages!(p), ['kdump-tools']);
});

test('kdump: disabled or absent writes nothing', () => {
  assert.equal(kdumpModule.plan(profile({ kdump: { enabled: false, crashkernel: '768M' } })), []);
  assert.equal(kdumpModule.plan(profile()), []);
  assert.equal(kdumpModule.packages!(profile()), []);
});

test('kdump: enabled needs a valid crashkernel, set in one place only', () => {
  assert.equal(
    kdumpModule.validate!(profile({ kdump: { enabled: true } })).map((i) => i.path),
    ['kdump.crashkernel'],
  );
  assert.match(
    kdumpModule.validate!(profile({ kdump: { crashkernel: '768M"; x' } }))[0]!.message,
    /must be a crashkernel value/,
  );
  const twice = kdumpModule.validate!(
    profile({ kdump: { crashkernel: '768M' }, grub: { cmdline: ['crashkernel=512M'] } }),
  );
  assert.match(twice[0]!.message, /set it in kdump.crashkernel only/);
  assert.equal(kdumpModule.validate!(profile({ kdump: { crashkernel: '512M-2G:64M,2G-:256M' } })), []);
});

test.run();
