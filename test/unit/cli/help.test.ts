/**
 * The CLI's help and shell completion, read from the real binary: every command registered with
 * yargs (the list comes from `ib-native --help`, so new commands are covered) shows examples, the
 * top-level help lists every exit code, and completion answers commands, options and profile names.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMPLETION_FLAG, profileCompletions } from '../../../src/cli/completion.ts';
import { DISTRO_NAMES } from '../../../src/distro/index.ts';
import { EXIT_CODES } from '../../../src/errors.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/ib-native.mjs');

async function run(args: string[], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    env: { SHELL: '/bin/bash', ...env },
    stdin: 'ignore',
    timeout: 60_000,
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The commands listed under "Commands:" in `ib-native --help`, without their arguments. */
function commandsOf(help: string): string[] {
  const section = /^Commands:\n([\s\S]*?)\n\n/m.exec(help)?.[1] ?? '';
  return [...section.matchAll(/^ {2}ib-native ([a-z][\w-]*)/gm)].map((m) => m[1]!);
}

const completions = (words: string[], env?: Record<string, string>) =>
  run([COMPLETION_FLAG, 'ib-native', ...words], env).then((r) => r.stdout.split('\n').filter(Boolean));

test('every command has an Examples section in its --help; the top level lists every exit code', async () => {
  const top = await run(['--help']);
  assert.is(top.exitCode, 0, top.stderr);
  const commands = commandsOf(top.stdout);
  for (const c of ['build', 'plan', 'boot', 'doctor', 'cache', 'import-airship', 'completion'])
    assert.ok(commands.includes(c), `${c} not in --help:\n${top.stdout}`);
  assert.match(top.stdout, /^Examples:\n {2}(sudo )?ib-native /m);
  const exitSection = top.stdout.slice(top.stdout.indexOf('\nExit codes:\n'));
  for (const e of EXIT_CODES)
    assert.ok(exitSection.includes(`  ${e.code} `), `exit code ${e.code} not listed`);
  // the commands yargs completes are the ones --help lists: nothing registered is left out
  assert.equal((await completions([''])).sort(), [...commands].sort());
  const helps = await Promise.all(commands.map((c) => run([c, '--help'])));
  commands.forEach((c, i) => {
    const h = helps[i]!;
    assert.is(h.exitCode, 0, `${c} --help: ${h.stderr}`);
    assert.match(
      h.stdout,
      new RegExp(`^Examples:\\n {2}(\\S+=\\S+ )?(sudo )?ib-native ${c}\\b`, 'm'),
      `${c} --help`,
    );
  });
});

test('completion: the script, build options, option choices and shipped profile names', async () => {
  const [script, zsh, options, distros, profiles] = await Promise.all([
    run(['completion']),
    run(['completion'], { SHELL: '/bin/zsh' }),
    completions(['build', '--pro']),
    completions(['plan', '--distro', '']),
    completions(['build', '--profile', 'mi']),
  ]);
  assert.is(script.exitCode, 0);
  assert.match(script.stdout, /ib-native --get-yargs-completions/);
  assert.match(script.stdout, /complete -o bashdefault -o default -F _ib-native_yargs_completions ib-native/);
  assert.match(zsh.stdout, /compdef _ib-native_yargs_completions ib-native/);
  assert.ok(options.includes('--profile'), options.join(' '));
  assert.ok(options.includes('--output') && !options.includes('--firmware'), options.join(' '));
  assert.equal(distros.sort(), [...DISTRO_NAMES].sort());
  assert.equal(profiles, ['minimal']);
});

test('profileCompletions: only after --profile/-p, filtered by prefix, none for paths', () => {
  const names = () => ['base', 'control-plane', 'ephemeral', 'minimal', 'worker'];
  const at = (...words: string[]) => profileCompletions([COMPLETION_FLAG, 'ib-native', ...words], names);
  assert.is(profileCompletions(['build', '--profile', 'm'], names), undefined, 'not a completion request');
  assert.is(at('build', '--pro'), undefined);
  assert.is(at('build', '--output', 'x'), undefined);
  assert.equal(at('build', '--profile', ''), names());
  assert.equal(at('build', '-p', 'minimal', '-p', 'c'), ['control-plane']);
  assert.equal(at('plan', '-p', 'zz'), []);
  for (const p of ['./x', '../x', 'dir/x', '~/x']) assert.equal(at('build', '-p', p), [], p);
});

test.run();
