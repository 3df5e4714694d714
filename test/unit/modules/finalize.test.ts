import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  finalizeModule,
  NOT_SHIPPED,
  SSH_KEYGEN_UNIT,
  SSH_KEYGEN_UNIT_CONTENT,
} from '../../../src/modules/finalize.ts';
import { SCRIPTS_DIR } from '../../../src/modules/user-scripts.ts';
import { mksquashfsArgv } from '../../../src/stages/iso.ts';
import { bodies, profile, written } from './helpers.ts';

const ops = finalizeModule.plan(profile());
const b = bodies(ops);
const runs = ops.flatMap((o) => (o.kind === 'run' ? [o.argv] : []));

test('finalize: machine-id emptied (first boot generates it), dbus machine-id links to it', () => {
  assert.is(written(ops, '/etc/machine-id'), '');
  assert.ok(
    b.some(
      (x) => x.kind === 'symlink' && x.path === '/var/lib/dbus/machine-id' && x.target === '/etc/machine-id',
    ),
  );
});

test('finalize: apt cache and lists removed with argv commands; Python bytecode kept', () => {
  assert.ok(runs.some((a) => a.join(' ') === 'apt-get clean'));
  assert.ok(runs.some((a) => a.join(' ') === 'find /var/lib/apt/lists -mindepth 1 -delete'));
  // the packages' compiled bytecode ships: every boot would compile cloud-init again without it
  assert.not.ok(runs.some((a) => a.includes('*.pyc') || a.includes('__pycache__')));
});

test('finalize: no SSH host keys ship; a first-boot unit generates them before ssh', () => {
  assert.ok(runs.some((a) => a.join(' ') === 'find /etc/ssh -maxdepth 1 -name ssh_host_* -delete'));
  assert.is(written(ops, `/etc/systemd/system/${SSH_KEYGEN_UNIT}`), SSH_KEYGEN_UNIT_CONTENT);
  assert.match(SSH_KEYGEN_UNIT_CONTENT, /^ConditionPathExistsGlob=!\/etc\/ssh\/ssh_host_\*_key$/m);
  assert.match(SSH_KEYGEN_UNIT_CONTENT, /^Before=ssh.service$/m);
  assert.match(SSH_KEYGEN_UNIT_CONTENT, /^ExecStart=\/usr\/bin\/ssh-keygen -A$/m);
  assert.ok(b.some((x) => x.kind === 'unit' && x.name === SSH_KEYGEN_UNIT && x.action === 'enable'));
});

test('finalize: root never has an empty password; downloads and history removed', () => {
  assert.ok(
    runs.some(
      (a) => a[0] === '/bin/sh' && /getent shadow root/.test(a[2]!) && /usermod -p '\*' root/.test(a[2]!),
    ),
  );
  assert.ok(b.some((x) => x.kind === 'remove' && x.path === '/tmp/url_resources'));
  assert.ok(b.some((x) => x.kind === 'remove' && x.path === '/root/.bash_history'));
});

test('finalize: the user scripts folder goes too', () => {
  assert.ok(b.some((x) => x.kind === 'remove' && x.path === SCRIPTS_DIR));
});

test('NOT_SHIPPED: what finalize removes from the rootfs, left out of the base squashfs with -wildcards', () => {
  for (const p of [
    'etc/ssh/ssh_host_*',
    'etc/machine-id',
    'var/lib/apt/lists/*',
    'var/cache/apt/archives/*.deb',
  ])
    assert.ok(NOT_SHIPPED.includes(p), p);
  for (const p of NOT_SHIPPED) assert.not.match(p, /^\//, `${p} must be root-relative`);
  const argv = mksquashfsArgv('/t', '/o', {
    compression: 'lz4',
    threads: 1,
    exclude: ['boot', ...NOT_SHIPPED],
  });
  assert.equal(argv.slice(argv.indexOf('-wildcards')), ['-wildcards', '-e', 'boot', ...NOT_SHIPPED]);
  const plain = mksquashfsArgv('/t', '/o', { compression: 'lz4', threads: 1, exclude: ['boot'] });
  assert.not.ok(plain.includes('-wildcards'));
});

test('finalize: common context (the engine applies it last in every image)', () => {
  assert.ok(ops.every((o) => o.contexts.length === 1 && o.contexts[0] === 'common'));
});

test.run();
