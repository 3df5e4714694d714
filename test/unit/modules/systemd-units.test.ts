import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemdUnitsModule } from '../../../src/modules/systemd-units.ts';
import { bodies, profile } from './helpers.ts';

const UNIT =
  '[Unit]\nDescription=sample\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n';

test('systemd: content written to /etc/systemd/system, then enabled; masking and disabling', () => {
  const ops = systemdUnitsModule.plan(
    profile({
      systemd: [
        { name: 'sample.service', content: UNIT, enabled: true, contexts: ['qcow2'] },
        { name: 'motd-news.timer', masked: true },
        { name: 'rsync.service', enabled: false, masked: false },
      ],
    }),
  );
  assert.equal(bodies(ops), [
    { kind: 'writeFile', path: '/etc/systemd/system/sample.service', mode: '0644', content: UNIT },
    { kind: 'unit', name: 'sample.service', action: 'enable' },
    { kind: 'unit', name: 'motd-news.timer', action: 'mask' },
    { kind: 'unit', name: 'rsync.service', action: 'unmask' },
    { kind: 'unit', name: 'rsync.service', action: 'disable' },
  ]);
  assert.equal(ops[0]!.contexts, ['disk']);
});

test('systemd: contradictory or empty entries are errors', () => {
  const issues = systemdUnitsModule.validate!(
    profile({
      systemd: [
        { name: 'a.service', enabled: true, masked: true },
        { name: 'b.service', content: UNIT, masked: true },
        { name: 'c.service' },
      ],
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['systemd[0]', 'systemd[1].masked', 'systemd[2]'],
  );
});

test.run();
