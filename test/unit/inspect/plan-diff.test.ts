import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planBuild } from '../../../src/build.ts';
import {
  diffPlans,
  formatPlanDiff,
  imageEffects,
  imageOps,
  isEmptyDiff,
  textDiff,
} from '../../../src/inspect/plan-diff.ts';
import { ops } from '../../../src/ops/types.ts';
import { PROFILES_DIR } from '../../../src/profile/files.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-diff-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function profile(name: string, body: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      extends: path.join(PROFILES_DIR, 'minimal.ts'),
      distro: 'debian-bookworm',
      ...body,
    }),
  );
  return file;
}

test('imageOps: common ops, then the format’s, then finalize’s common and format ones (the build order)', () => {
  const list = [
    ...ops('a', ['disk'], { kind: 'mkdir', path: '/q' }),
    ...ops('b', undefined, { kind: 'mkdir', path: '/c' }),
    ...ops('finalize', ['live'], { kind: 'remove', path: '/fi' }),
    ...ops('finalize', undefined, { kind: 'remove', path: '/fc' }),
    ...ops('c', ['live'], { kind: 'mkdir', path: '/i' }),
  ];
  const paths = (f: 'iso' | 'qcow2' | 'pxe' | 'vmdk' | 'tar') =>
    imageOps(list, f).map((o) => (o as { path: string }).path);
  assert.equal(paths('iso'), ['/c', '/i', '/fc', '/fi']);
  assert.equal(paths('qcow2'), ['/c', '/q', '/fc']);
  // a family's formats get the same operations
  assert.equal(paths('pxe'), paths('iso'));
  assert.equal(paths('vmdk'), paths('qcow2'));
  assert.equal(paths('tar'), ['/c', '/fc']);
});

test('imageEffects: a later op wins, remove drops what was written below, chmod keeps the content', () => {
  const list = [
    ...ops('files', undefined, { kind: 'writeFile', path: '/etc/a/x', content: 'x\n' }),
    ...ops('files', undefined, { kind: 'writeFile', path: '/etc/b', content: 'one\n', mode: '0600' }),
    ...ops('files', undefined, { kind: 'writeFile', path: '/etc/b', content: 'two\n', mode: '0600' }),
    ...ops('perm', undefined, { kind: 'chmod', path: '/etc/b', mode: '0640', group: 'adm' }),
    ...ops('perm', undefined, { kind: 'chmod', path: '/usr/bin/su', mode: '4755' }),
    ...ops('clean', undefined, { kind: 'remove', path: '/etc/a' }),
    ...ops('units', undefined, { kind: 'unit', name: 'x.service', action: 'enable' }),
    ...ops('units', ['live'], { kind: 'unit', name: 'x.service', action: 'mask' }),
    ...ops('scripts', undefined, { kind: 'run', argv: ['true'], description: 'nothing' }),
  ];
  const iso = imageEffects(list, 'iso');
  assert.not.ok(iso.paths.has('/etc/a/x'));
  assert.equal(iso.paths.get('/etc/a'), { kind: 'removed', module: 'clean' });
  const b = iso.paths.get('/etc/b')!;
  assert.equal([b.kind, b.content, b.mode, b.group, b.module], ['file', 'two\n', '0640', 'adm', 'perm']);
  assert.equal(iso.paths.get('/usr/bin/su'), { kind: 'attributes', mode: '4755', module: 'perm' });
  assert.equal(iso.units.get('x.service'), ['enable', 'mask']);
  assert.equal(imageEffects(list, 'qcow2').units.get('x.service'), ['enable']);
  assert.equal(iso.commands, ['[scripts] nothing: true']);
});

test('textDiff: unified hunks without headers, capped', () => {
  assert.is(textDiff('a\nb\nc\n', 'a\nB\nc\n'), '@@ -1,3 +1,3 @@\n a\n-b\n+B\n c');
  const long = textDiff('', `${Array.from({ length: 100 }, (_, i) => i).join('\n')}\n`, 10);
  assert.is(long.split('\n').length, 11);
  assert.match(long, /… 91 more lines$/);
});

test('the same profile twice: no difference', async () => {
  const a = await planBuild(profile('same', {}), {});
  const d = diffPlans(a, a);
  assert.ok(isEmptyDiff(d));
  assert.match(formatPlanDiff(d), 'no difference');
});

test('two profiles: packages, repos, files (with a content diff), units, cmdline, formats and disk', async () => {
  const key = path.join(dir, 'r.asc');
  writeFileSync(key, 'not really a key\n');
  const a = await planBuild(
    profile('a', {
      packages: ['jq', 'curl=7.88'],
      sysctl: { 'vm.swappiness': '10', 'net.ipv4.ip_forward': '1' },
      files: [{ path: '/etc/motd', content: 'hello\n' }],
    }),
    {},
  );
  const b = await planBuild(
    profile('b', {
      packages: ['jq', 'curl=7.99', 'tmux'],
      repos: [{ name: 'extra', url: 'http://127.0.0.1:9/r', suite: 's', key, packages: ['tool'] }],
      sysctl: { 'vm.swappiness': '60', 'net.ipv4.ip_forward': '1' },
      directories: [{ path: '/srv/data', mode: '0750' }],
      kernel: { cmdline: { mitigations: 'off' } },
      formats: ['qcow2'],
      disk: { size: '8G' },
      remove: { packages: ['less'] },
    }),
    {},
  );
  const d = diffPlans(a, b);
  assert.equal(d.formats, ['iso', 'qcow2']);
  assert.equal(d.settings.formats, { a: 'iso,qcow2', b: 'qcow2' });
  assert.not.ok(d.sameRootfs);
  assert.equal(d.packages.added, ['tmux', 'tool']);
  assert.equal(d.packages.removed, ['less']);
  assert.equal(d.packages.changed, [{ name: 'curl', a: 'curl=7.88', b: 'curl=7.99' }]);
  assert.equal(
    d.repos.map((r) => [r.name, r.change]),
    [['extra', 'added']],
  );
  const sysctl = d.paths.find((p) => p.path === '/etc/sysctl.d/99-ib-native.conf')!;
  assert.is(sysctl.change, 'changed');
  assert.equal(sysctl.images, ['iso', 'qcow2']);
  assert.match(sysctl.diff!, /^-vm\.swappiness = 10$/m);
  assert.match(sysctl.diff!, /^\+vm\.swappiness = 60$/m);
  assert.not.match(sysctl.diff!, /^[-+]net\.ipv4\.ip_forward/m);
  const motd = d.paths.find((p) => p.path === '/etc/motd')!;
  assert.is(motd.change, 'removed');
  assert.is(motd.a?.content, 'hello\n');
  const srv = d.paths.find((p) => p.path === '/srv/data')!;
  assert.equal([srv.change, srv.b?.kind, srv.b?.mode], ['added', 'dir', '0750']);
  assert.equal(
    d.cmdline.map((c) => [c.image, c.added, c.removed]),
    [
      ['live', ['mitigations=off'], []],
      ['disk', ['mitigations=off'], []],
    ],
  );
  assert.equal(d.disk.size, { a: 19 * 1024 ** 3, b: 8 * 1024 ** 3 });
  // the root partition ends at the end of the disk, the others stay
  assert.equal(
    d.disk.partitions.map((p) => [p.number, p.a?.name, p.b?.name, p.a?.lastSector === p.b?.lastSector]),
    [[1, 'root', 'root', false]],
  );
  const text = formatPlanDiff(d);
  for (const line of [
    '  formats: iso,qcow2 -> qcow2',
    '  + tmux',
    '  - less',
    '  ~ curl=7.88 -> curl=7.99',
    '  + repo extra (http://127.0.0.1:9/r s)',
    '  (a different rootfs: the second build bootstraps its own)',
    '      -vm.swappiness = 10',
    '      +vm.swappiness = 60',
    '    with: mitigations=off',
  ])
    assert.ok(text.includes(`${line}\n`), `missing line "${line}" in:\n${text}`);
  assert.match(
    text,
    /^ {2}- \/etc\/motd: file 0644, 6 bytes, sha256 [0-9a-f]{12} \(files\); as the rootfs has it$/m,
  );
  assert.match(text, /^ {2}\+ \/srv\/data: folder 0750 \(directories\)$/m);
});

test.run();
