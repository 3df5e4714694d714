import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bannersModule, MOTD_DIR } from '../../../src/modules/banners.ts';
import { bodies, profile } from './helpers.ts';

test('banners: issue written; update-motd.d reset to one 00-motd; motd-news removed', () => {
  const ops = bannersModule.plan(
    profile({ banners: { issue: 'Node \\l \\4', motd: '#!/bin/sh\necho hi\n' } }),
  );
  assert.equal(bodies(ops), [
    { kind: 'writeFile', path: '/etc/issue', mode: '0644', content: 'Node \\l \\4\n' },
    { kind: 'remove', path: MOTD_DIR },
    { kind: 'mkdir', path: MOTD_DIR, mode: '0755' },
    { kind: 'writeFile', path: `${MOTD_DIR}/00-motd`, mode: '0755', content: '#!/bin/sh\necho hi\n' },
    { kind: 'remove', path: '/etc/default/motd-news' },
  ]);
});

test('banners: only what is given; a motd without #! is an error', () => {
  assert.equal(bodies(bannersModule.plan(profile({ banners: { issue: 'x\n' } }))).length, 1);
  assert.equal(bannersModule.plan(profile()), []);
  assert.equal(
    bannersModule.validate!(profile({ banners: { motd: 'echo hi' } })).map((i) => i.path),
    ['banners.motd'],
  );
});

test.run();
