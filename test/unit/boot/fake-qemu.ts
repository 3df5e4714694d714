import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { LongProcess, SpawnLong } from '../../../src/boot/qemu.ts';

/** A fake QEMU: records its argv and kill signals; the test drives its console. */
export function fakeQemu(
  script: (p: {
    stdout: PassThrough;
    stderr: PassThrough;
    exit(code: number): void;
    /** QEMU dies of a signal (a crash of the emulator). */
    crash(signal: string): void;
    /** Which start of QEMU this is, from 1. */
    run: number;
  }) => void,
) {
  const state = {
    argv: [] as string[],
    kills: [] as string[],
    tmpSeen: [] as string[],
    /** What was typed into the console (spawned with stdin: true). */
    typed: '',
  };
  let runs = 0;
  const spawn: SpawnLong = (argv, _logger, o = {}) => {
    state.argv = [...argv];
    const run = ++runs;
    const stdin = o.stdin ? new PassThrough() : undefined;
    stdin?.on('data', (d: Buffer) => {
      state.typed += d.toString();
    });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let exit!: (r: { exitCode?: number; signal?: string }) => void;
    const exited = new Promise<{ exitCode?: number; signal?: string }>((r) => {
      exit = r;
    });
    const proc: LongProcess = {
      pid: 4242,
      ...(stdin ? { stdin } : {}),
      stdout,
      stderr,
      exited,
      kill(signal = 'SIGKILL') {
        state.kills.push(signal);
        stdout.end();
        exit({ signal });
      },
    };
    setTimeout(
      () =>
        script({
          stdout,
          stderr,
          exit(code) {
            stdout.end();
            exit({ exitCode: code });
          },
          crash(signal) {
            stdout.end();
            exit({ signal });
          },
          run,
        }),
      1,
    );
    return proc;
  };
  return { spawn, state };
}

export function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'ib-native-boottest-'));
  const image = join(dir, 'node.qcow2');
  const imageBytes = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(512)]);
  writeFileSync(image, imageBytes);
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  writeFileSync(join(seed, 'user-data'), '#cloud-config\n');
  const vars = join(dir, 'VARS.fd');
  writeFileSync(vars, 'vars-template');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  return { dir, image, imageBytes, seed, vars, tmp };
}
