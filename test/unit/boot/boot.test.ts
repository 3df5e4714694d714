import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootImage } from '../../../src/boot/boot.ts';
import { BootFailedError, BootTimeoutError } from '../../../src/boot/qemu.ts';
import { InterruptedError, UserError } from '../../../src/errors.ts';
import { recordingLogger } from '../../../src/log.ts';
import { recordingRunner } from '../../../src/run/runner.ts';
import { fakeQemu, workspace } from './fake-qemu.ts';

test('boots a qcow2 on an overlay with a seed and UEFI, returns at login, kills QEMU, cleans up', async () => {
  const w = workspace();
  try {
    const runner = recordingRunner();
    const logger = recordingLogger();
    const { spawn, state } = fakeQemu(({ stdout }) => {
      state.tmpSeen = readdirSync(w.tmp).flatMap((d) => readdirSync(join(w.tmp, d)));
      stdout.write('\x1b[0;32m  OK  \x1b[0m] Reached target Multi-User System.\r\n');
      stdout.write('cloud-init: seed-ok\r\n\r\nnode login: ');
    });
    const consoleLog = join(w.dir, 'logs', 'console.log');
    const r = await bootImage(runner, {
      image: w.image,
      firmware: 'uefi',
      uefi: { code: '/fw/CODE.fd', vars: w.vars },
      seedDir: w.seed,
      expect: ['seed-ok'],
      kvm: false,
      timeoutSec: 5,
      consoleLog,
      tmpDir: w.tmp,
      logger,
      spawn,
    });
    assert.match(r.console, /node login:\s*$/);
    assert.ok(r.seconds < 5);

    // overlay then seed, through the runner
    assert.is(runner.calls.length, 2);
    const [create, seed] = runner.calls as [string[], string[]];
    assert.equal(create.slice(0, 8), ['qemu-img', 'create', '-f', 'qcow2', '-F', 'qcow2', '-b', w.image]);
    const overlay = create[8]!;
    assert.ok(overlay.startsWith(`${w.tmp}/ib-native-boot-`));
    assert.is(seed[0], 'xorriso');
    assert.ok(seed.includes(`user-data=${w.seed}/user-data`));

    // qemu boots the overlay (never the image), the seed, a copy of the UEFI variables, under TCG
    const drives = state.argv.flatMap((a, i) => (a === '-drive' ? [state.argv[i + 1]!] : []));
    assert.ok(drives.includes(`file=${overlay},if=virtio,format=qcow2`));
    assert.not.ok(state.argv.some((a) => a.includes(w.image)));
    assert.ok(drives.some((d) => d.includes('seed.iso') && d.includes('readonly=on')));
    assert.ok(drives.includes('if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd'));
    const varsCopy = drives.find((d) => d.includes('unit=1'))!;
    assert.not.ok(varsCopy.includes(w.vars), 'the variables template is copied, not used');
    assert.ok(state.argv.includes('tcg'));
    assert.ok(state.tmpSeen.includes('OVMF_VARS.fd'));

    // QEMU killed, temp dir gone, image untouched, console written
    assert.equal(state.kills, ['SIGKILL']);
    assert.equal(readdirSync(w.tmp), []);
    assert.equal(readFileSync(w.image), w.imageBytes);
    assert.ok(readFileSync(consoleLog, 'utf8').includes('\x1b[0;32m  OK  '), 'the log keeps the raw console');
    assert.ok(logger.lines.some((l) => /^info booting .*qcow2, uefi, TCG/.test(l)));
    assert.ok(logger.lines.some((l) => /^info reached the login prompt in/.test(l)));
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('boots an ISO directly with BIOS: no overlay, no seed', async () => {
  const w = workspace();
  try {
    const iso = join(w.dir, 'live.iso');
    writeFileSync(iso, '');
    const runner = recordingRunner();
    const { spawn, state } = fakeQemu(({ stdout }) => stdout.write('live login: '));
    await bootImage(runner, {
      image: iso,
      kvm: true,
      timeoutSec: 5,
      tmpDir: w.tmp,
      logger: recordingLogger(),
      spawn,
    });
    assert.equal(runner.calls, []);
    assert.ok(state.argv.includes('-cdrom') && state.argv.includes(iso));
    assert.ok(state.argv.includes('kvm'));
    assert.not.ok(state.argv.includes('-bios'));
    assert.equal(readdirSync(w.tmp), []);
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('netboots a pxe folder directly: no overlay, QEMU serves the folder by TFTP', async () => {
  const w = workspace();
  try {
    const folder = join(w.dir, 'node.pxe');
    mkdirSync(folder);
    writeFileSync(join(folder, 'boot.ipxe'), '#!ipxe\n');
    const runner = recordingRunner();
    const { spawn, state } = fakeQemu(({ stdout }) => stdout.write('node login: '));
    await bootImage(runner, {
      image: folder,
      kvm: false,
      timeoutSec: 5,
      tmpDir: w.tmp,
      logger: recordingLogger(),
      spawn,
    });
    assert.equal(runner.calls, [], 'no qemu-img overlay for a folder');
    assert.ok(state.argv.some((a) => a.includes(`tftp=${folder}`)));
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('boots a raw, VMDK or VHDX disk on a QCOW2 overlay backed in its own format', async () => {
  const w = workspace();
  try {
    for (const [name, at, magic, kind] of [
      ['node.img', 512, 'EFI PART', 'raw'],
      ['node.vmdk', 0, 'KDMV', 'vmdk'],
      ['node.vhdx', 0, 'vhdxfile', 'vhdx'],
    ] as const) {
      const image = join(w.dir, name);
      const bytes = Buffer.alloc(4096);
      bytes.write(magic, at, 'latin1');
      writeFileSync(image, bytes);
      const runner = recordingRunner();
      const { spawn, state } = fakeQemu(({ stdout }) => stdout.write('node login: '));
      await bootImage(runner, {
        image,
        kvm: false,
        timeoutSec: 5,
        tmpDir: w.tmp,
        logger: recordingLogger(),
        spawn,
      });
      const [create] = runner.calls as [string[]];
      assert.equal(create.slice(0, 8), ['qemu-img', 'create', '-f', 'qcow2', '-F', kind, '-b', image]);
      assert.ok(state.argv.includes(`file=${create[8]},if=virtio,format=qcow2`), name);
      assert.not.ok(state.argv.some((a) => a.includes(image)));
      assert.equal(readFileSync(image), bytes);
    }
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('a timeout throws BootTimeoutError with the console tail and a hint, and still kills QEMU', async () => {
  const w = workspace();
  try {
    const { spawn, state } = fakeQemu(({ stdout }) =>
      stdout.write('Begin: Running /scripts/init-premount ... done.\r\n'),
    );
    const err = await bootImage(recordingRunner(), {
      image: w.image,
      kvm: false,
      timeoutSec: 0.1,
      tmpDir: w.tmp,
      consoleLog: join(w.dir, 'console.log'),
      logger: recordingLogger(),
      spawn,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, BootTimeoutError);
    const e = err as BootTimeoutError;
    assert.match(e.message, /init-premount/);
    assert.match(e.hint ?? '', /console\.log/);
    assert.match(e.hint ?? '', /without KVM/);
    assert.equal(state.kills, ['SIGKILL']);
    assert.equal(readdirSync(w.tmp), []);
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('QEMU exiting early throws BootFailedError with its exit code and messages', async () => {
  const w = workspace();
  try {
    const { spawn } = fakeQemu(({ stdout, stderr, exit }) => {
      stdout.write('Kernel panic - not syncing: Attempted to kill init!\r\n');
      stderr.write('qemu-system-x86_64: terminating on guest reboot\n');
      setTimeout(() => exit(0), 5);
    });
    const err = await bootImage(recordingRunner(), {
      image: w.image,
      kvm: false,
      timeoutSec: 5,
      tmpDir: w.tmp,
      logger: recordingLogger(),
      spawn,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, BootFailedError);
    const m = (err as Error).message;
    assert.match(m, /QEMU exited with code 0 while waiting for login prompt/);
    assert.match(m, /terminating on guest reboot/);
    assert.match(m, /Kernel panic/);
    assert.equal(readdirSync(w.tmp), []);
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('QEMU crashing (SIGSEGV) boots once more from a fresh overlay; a second crash is the error', async () => {
  const w = workspace();
  try {
    const crashFirst = fakeQemu(({ stdout, crash, run }) => {
      stdout.write('[    0.75] PCI host bridge to bus 0000:00\r\n');
      if (run === 1) setTimeout(() => crash('SIGSEGV'), 5);
      else stdout.write('node login: ');
    });
    const logger = recordingLogger();
    const runner = recordingRunner();
    const opts = {
      image: w.image,
      kvm: false,
      timeoutSec: 5,
      tmpDir: w.tmp,
      logger,
      spawn: crashFirst.spawn,
    };
    const r = await bootImage(runner, opts);
    assert.match(r.console, /node login:/);
    assert.ok(logger.lines.some((l) => /^warn QEMU crashed \(SIGSEGV\).*booting once more/.test(l)));
    assert.is(runner.calls.filter((c) => c[1] === 'create').length, 2, 'a new overlay for the second boot');
    assert.equal(readdirSync(w.tmp), []);

    const always = fakeQemu(({ crash }) => setTimeout(() => crash('SIGSEGV'), 5));
    const err = await bootImage(recordingRunner(), { ...opts, spawn: always.spawn }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, BootFailedError);
    assert.match((err as Error).message, /QEMU was killed by SIGSEGV while waiting for login prompt/);
    // the guest's own failure (QEMU exits with a code) is not retried
    const panics = fakeQemu(({ exit, run }) => setTimeout(() => exit(run), 5));
    const e2 = await bootImage(recordingRunner(), { ...opts, spawn: panics.spawn }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.match((e2 as Error).message, /QEMU exited with code 1 /);
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('QEMU aborting under KVM (a nested hypervisor refusing the CPU) boots once more with TCG', async () => {
  const w = workspace();
  try {
    const accels: string[] = [];
    const q = fakeQemu(({ stdout, stderr, crash, run }) => {
      if (run === 1) {
        stderr.write('qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n');
        setTimeout(() => crash('SIGABRT'), 5);
      } else stdout.write('node login: ');
    });
    const spawn: typeof q.spawn = (argv, logger, o) => {
      accels.push(argv[argv.indexOf('-accel') + 1]!);
      return q.spawn(argv, logger, o);
    };
    const logger = recordingLogger();
    const r = await bootImage(recordingRunner(), {
      image: w.image,
      kvm: true,
      timeoutSec: 5,
      tmpDir: w.tmp,
      logger,
      spawn,
    });
    assert.match(r.console, /node login:/);
    assert.equal(accels, ['kvm', 'tcg']);
    assert.ok(
      logger.lines.some((l) =>
        /^warn QEMU crashed \(SIGABRT\) under KVM \(qemu-system-x86_64: error: failed to set MSR.*TCG/.test(
          l,
        ),
      ),
      logger.lines.join('\n'),
    );
    assert.equal(readdirSync(w.tmp), []);
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('an abort kills QEMU and throws InterruptedError', async () => {
  const w = workspace();
  try {
    const ac = new AbortController();
    const { spawn, state } = fakeQemu(({ stdout }) => {
      stdout.write('booting...\r\n');
      setTimeout(() => ac.abort('SIGINT'), 5);
    });
    const err = await bootImage(recordingRunner(), {
      image: w.image,
      kvm: false,
      timeoutSec: 5,
      tmpDir: w.tmp,
      logger: recordingLogger(),
      signal: ac.signal,
      spawn,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, InterruptedError);
    assert.is((err as InterruptedError).signal, 'SIGINT');
    assert.equal(state.kills, ['SIGKILL']);
    assert.equal(readdirSync(w.tmp), []);
  } finally {
    rmSync(w.dir, { recursive: true, force: true });
  }
});

test('a missing image is a UserError before anything starts', async () => {
  const { spawn, state } = fakeQemu(() => {});
  const err = await bootImage(recordingRunner(), {
    image: '/nonexistent/x.qcow2',
    logger: recordingLogger(),
    spawn,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, UserError);
  assert.equal(state.argv, []);
  assert.not.ok(existsSync('/nonexistent'));
});

test.run();
