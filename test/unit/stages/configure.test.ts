import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordingLogger } from '../../../src/log.ts';
import type { Op } from '../../../src/ops/types.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import { type FailureContext, layerStage, splitOps, withLayer } from '../../../src/stages/configure.ts';

/** The layer machinery runs for real on temporary folders; the runner only records mount commands. */
function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ib-native-layer-'));
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  // "mounting" the overlay gives the merged view the folders a rootfs has
  const runner = recordingRunner((argv) => {
    if (argv.includes('overlay')) mkdirSync(path.join(argv.at(-1)!, 'etc'), { recursive: true });
    return undefined;
  });
  const logger = recordingLogger();
  const calls: { ctx: FailureContext; policyRcD: boolean }[] = [];
  const onFailure = async (ctx: FailureContext) => {
    // what the hook sees: the chroot session still set up (policy-rc.d is removed when it closes)
    calls.push({ ctx, policyRcD: existsSync(path.join(ctx.tree, 'usr/sbin/policy-rc.d')) });
  };
  const layers = path.join(dir, 'layers');
  return {
    dir,
    rootfs,
    runner,
    logger,
    calls,
    onFailure,
    layers,
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('withLayer: mounts the overlay over the lower layers and opens a chroot on the merged view', async () => {
  const s = setup();
  try {
    const upper = path.join(s.dir, 'below');
    const r = await withLayer(s, s.layers, 'live', [upper, s.rootfs], async (merged, inChroot) => {
      const inside = await inChroot(async (chroot) => chroot.root);
      return { merged, inside };
    });
    const merged = path.join(s.layers, 'live', 'merged');
    assert.equal(r, { merged, inside: merged });
    assert.equal(s.runner.calls[0], [
      'mount',
      '-t',
      'overlay',
      '-o',
      `lowerdir=${upper}:${s.rootfs},upperdir=${s.layers}/live/upper,workdir=${s.layers}/live/work`,
      'overlay',
      merged,
    ]);
    assert.ok(s.runner.calls.some((c) => c.join(' ') === `mount -t proc proc ${merged}/proc`));
    assert.equal(s.calls, [], 'no failure, no hook');
  } finally {
    s.done();
  }
});

test('withLayer: a failure inside the chroot reaches the hook once, inside the session, then propagates', async () => {
  const s = setup();
  try {
    const boom = new Error('user script boom failed');
    const err = await withLayer(s, s.layers, 'common', [s.rootfs], async (_m, inChroot) => {
      await inChroot(async () => {
        throw boom;
      });
    }).catch((e: unknown) => e);
    assert.is(err, boom);
    assert.is(s.calls.length, 1);
    const { ctx, policyRcD } = s.calls[0]!;
    assert.is(ctx.stage, 'configure');
    assert.is(ctx.tree, path.join(s.layers, 'common', 'merged'));
    assert.is(ctx.error, boom);
    assert.is(ctx.chroot?.root, ctx.tree);
    assert.ok(policyRcD, 'the hook ran before the chroot session closed');
    assert.is(ctx.runner, s.runner, "the build's runner and logger come with the failure");
    assert.is(ctx.logger, s.logger);
    assert.not.ok(existsSync(path.join(ctx.tree, 'usr/sbin/policy-rc.d')), 'closed after');
  } finally {
    s.done();
  }
});

test('withLayer: a failure after the chroot (an image tool) reaches the hook without a session', async () => {
  const s = setup();
  try {
    const err = await withLayer(s, s.layers, 'disk', [s.rootfs], async (_m, inChroot) => {
      await inChroot(async () => undefined);
      throw new Error('mksquashfs failed');
    }).catch((e: unknown) => e);
    assert.match(String(err), /mksquashfs failed/);
    assert.is(s.calls.length, 1);
    assert.is(s.calls[0]!.ctx.stage, 'disk');
    assert.is(s.calls[0]!.ctx.chroot, undefined);
    assert.is(s.calls[0]!.policyRcD, false);
  } finally {
    s.done();
  }
});

test('withLayer: a failing hook is logged and never hides the build error; no hook, no call', async () => {
  const s = setup();
  try {
    const deps = {
      runner: s.runner,
      logger: s.logger,
      onFailure: async () => {
        throw new Error('no terminal');
      },
    };
    const err = await withLayer(deps, s.layers, 'common', [s.rootfs], async () => {
      throw new Error('the real failure');
    }).catch((e: unknown) => e);
    assert.match(String(err), /the real failure/);
    assert.ok(s.logger.lines.some((l) => l === 'warn the failure hook failed: no terminal'));
    const plain = await withLayer(
      { runner: s.runner, logger: s.logger },
      s.layers,
      'common',
      [s.rootfs],
      async () => {
        throw new Error('again');
      },
    ).catch((e: unknown) => e);
    assert.match(String(plain), /again/);
  } finally {
    s.done();
  }
});

test('layerStage and splitOps: the common layer is the configure stage; finalize runs last', () => {
  assert.is(layerStage('common'), 'configure');
  assert.is(layerStage('live'), 'live');
  const op = (module: string, path: string): Op =>
    ({ module, contexts: ['common'], kind: 'remove', path }) as unknown as Op;
  const ops = [op('files', '/a'), op('finalize', '/etc/machine-id'), op('sysctl', '/b')];
  const { common, final } = splitOps(ops);
  assert.equal(
    common.map((o) => o.module),
    ['files', 'sysctl'],
  );
  assert.equal(
    final.map((o) => o.module),
    ['finalize'],
  );
});

test.run();
