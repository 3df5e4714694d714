import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_LIVE_CMDLINE } from '../../../src/modules/grub.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import {
  buildPxe,
  DEFAULT_PXE_BASE_URL,
  pxeSquashfsOptions,
  renderIpxeScript,
  squashfsUrl,
} from '../../../src/stages/pxe.ts';
import { PXE_FILES } from '../../../src/sys/pxe-layout.ts';

function refused(f: () => unknown, message: RegExp): void {
  try {
    f();
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as UserError).message, message);
    assert.ok((e as UserError).hint, 'a hint');
  }
}

test('renderIpxeScript: kernel and initrd relative to the script, live-boot fetches the squashfs from the TFTP server', () => {
  assert.is(
    renderIpxeScript({ cmdline: ['boot=live', 'quiet', 'console=ttyS0'] }),
    [
      '#!ipxe',
      '# written by ib-native: boots the live system, its root squashfs fetched by live-boot',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's own expansion, kept literally
      'kernel vmlinuz initrd=initrd.img boot=live quiet console=ttyS0 fetch=tftp://${next-server}/filesystem.squashfs',
      'initrd initrd.img',
      'boot',
      '',
    ].join('\n'),
  );
});

test('renderIpxeScript: the ISO default live command line goes in as it is', () => {
  const script = renderIpxeScript({ cmdline: DEFAULT_LIVE_CMDLINE });
  assert.ok(script.includes(` ${DEFAULT_LIVE_CMDLINE.join(' ')} fetch=`));
  assert.is(script.split('\n').length, 6);
});

test('renderIpxeScript: a base URL moves the squashfs (http, a subfolder of the TFTP root)', () => {
  for (const base of ['http://192.0.2.1:8080/images/worker.pxe/', 'tftp://192.0.2.1/pxe/worker.pxe/']) {
    assert.ok(
      renderIpxeScript({ cmdline: ['boot=live'], baseUrl: base }).includes(
        ` fetch=${base}filesystem.squashfs\n`,
      ),
    );
  }
  assert.is(squashfsUrl(), `${DEFAULT_PXE_BASE_URL}filesystem.squashfs`);
});

test('renderIpxeScript refuses tokens that would add a line, a word or an iPXE expansion', () => {
  for (const bad of ['a\nshell', 'a b', `x=${'$'}{net0/mac}`, 'a;b', 'a||shell', '#x', "a'b", '']) {
    refused(() => renderIpxeScript({ cmdline: ['boot=live', bad] }), /cannot go into an iPXE script/);
  }
});

test('renderIpxeScript refuses what the script sets itself, and a command line without boot=live', () => {
  refused(
    () => renderIpxeScript({ cmdline: ['boot=live', 'fetch=http://x/y.squashfs'] }),
    /sets fetch= itself/,
  );
  refused(() => renderIpxeScript({ cmdline: ['boot=live', 'initrd=other.img'] }), /sets initrd= itself/);
  refused(() => renderIpxeScript({ cmdline: ['quiet', 'console=ttyS0'] }), /no boot=live/);
});

test('renderIpxeScript refuses a base URL of another scheme, without its final /, or with iPXE syntax', () => {
  for (const bad of [
    'https://x/',
    'file:///srv/',
    'tftp://x/images',
    'tftp://192.0.2.1:69/images/',
    `${DEFAULT_PXE_BASE_URL}images/`,
    'http://x/a b/',
    'http://x/\nshell/',
  ]) {
    refused(() => renderIpxeScript({ cmdline: ['boot=live'], baseUrl: bad }), /pxe base URL/);
  }
});

test('pxeSquashfsOptions leaves boot out (once) and stamps the creation time with SOURCE_DATE_EPOCH', () => {
  const o = { compression: 'lz4' as const, threads: 2, exclude: ['etc/machine-id', 'boot'] };
  assert.equal(pxeSquashfsOptions(o, 42), { ...o, exclude: ['boot', 'etc/machine-id'], mkfsTime: 42 });
  assert.equal(pxeSquashfsOptions({ ...o, exclude: [] }), { ...o, exclude: ['boot'] });
});

function fakeTree(dir: string, kv: string): string {
  const tree = path.join(dir, 'tree');
  mkdirSync(path.join(tree, 'boot'), { recursive: true });
  writeFileSync(path.join(tree, 'boot', `vmlinuz-${kv}`), 'KERNEL');
  writeFileSync(path.join(tree, 'boot', `initrd.img-${kv}`), 'INITRD');
  return tree;
}

test('buildPxe writes the layout, mksquashfs through the runner, times fixed by SOURCE_DATE_EPOCH', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-test-'));
  try {
    const tree = fakeTree(dir, '6.1.0-1-amd64');
    const out = path.join(dir, 'out', 'worker.pxe');
    const runner = recordingRunner((argv) => {
      if (argv[0] === 'mksquashfs') writeFileSync(argv[2]!, 'SQUASHFS');
      return undefined;
    });
    await buildPxe(runner, silentLogger, {
      tree,
      out,
      kernelVersion: '6.1.0-1-amd64',
      cmdline: ['boot=live', 'console=ttyS0'],
      squashfs: { compression: 'zstd', threads: 1, exclude: ['etc/machine-id'] },
      sourceDateEpoch: 1_700_000_000,
    });
    assert.equal(runner.calls, [
      [
        'mksquashfs',
        tree,
        path.join(out, 'filesystem.squashfs'),
        '-noappend',
        '-comp',
        'zstd',
        '-processors',
        '1',
        '-mkfs-time',
        '1700000000',
        '-e',
        'boot',
        'etc/machine-id',
      ],
    ]);
    assert.equal(readdirSync(out).sort(), Object.values(PXE_FILES).sort());
    assert.is(readFileSync(path.join(out, 'vmlinuz'), 'utf8'), 'KERNEL');
    assert.is(readFileSync(path.join(out, 'initrd.img'), 'utf8'), 'INITRD');
    assert.ok(readFileSync(path.join(out, 'boot.ipxe'), 'utf8').startsWith('#!ipxe\n'));
    for (const f of [out, ...Object.values(PXE_FILES).map((n) => path.join(out, n))])
      assert.is(statSync(f).mtimeMs, 1_700_000_000_000, f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buildPxe refuses a bad command line and a kernel that is a link, before any command', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-test-'));
  try {
    const tree = fakeTree(dir, 'k');
    const runner = recordingRunner();
    const inputs = {
      tree,
      out: path.join(dir, 'a.pxe'),
      kernelVersion: 'k',
      cmdline: ['boot=live'],
      squashfs: { compression: 'lz4' as const, threads: 1, exclude: [] },
    };
    await buildPxe(runner, silentLogger, { ...inputs, cmdline: ['boot=live', 'a\nb'] }).then(
      () => assert.unreachable('should have thrown'),
      (e) => assert.instance(e, UserError),
    );
    rmSync(path.join(tree, 'boot', 'vmlinuz-k'));
    symlinkSync('/etc/hostname', path.join(tree, 'boot', 'vmlinuz-k'));
    await buildPxe(runner, silentLogger, inputs).then(
      () => assert.unreachable('should have thrown'),
      (e) => {
        assert.instance(e, UserError);
        assert.match((e as UserError).message, /not a regular file/);
      },
    );
    assert.equal(runner.calls, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
