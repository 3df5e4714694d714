import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildArgv, errorFromEvent } from '../../src/api.ts';
import {
  CommandError,
  CommandNotFoundError,
  InternalError,
  InterruptedError,
  UserError,
} from '../../src/errors.ts';
import { errorEventBody } from '../../src/reporter.ts';

const at = { profile: 'minimal', time: '2026-11-25T22:10:00.000Z' };

test('buildArgv: typed options become the flags of `ib-native build --json`', () => {
  assert.equal(buildArgv({ profile: 'minimal' }), ['build', '--json', '--profile', 'minimal']);
  assert.equal(buildArgv({ profile: 'ephemeral', sites: ['/s/dc1', '/s/dc2'] }), [
    'build',
    '--json',
    '--profile',
    'ephemeral',
    '--site',
    '/s/dc1',
    '--site',
    '/s/dc2',
  ]);
  assert.equal(
    buildArgv({ profile: 'worker', cacheFrom: '127.0.0.1:5000/c', cacheTo: 'reg.example.com/c' }),
    [
      'build',
      '--json',
      '--profile',
      'worker',
      '--cache-from',
      '127.0.0.1:5000/c',
      '--cache-to',
      'reg.example.com/c',
    ],
  );
  assert.equal(
    buildArgv({
      profile: './site.ts',
      distro: 'debian-bookworm',
      formats: ['iso', 'qcow2'],
      output: '/o',
      cacheDir: '/c',
      mirror: 'http://site/debian',
      suiteMirrors: { 'bookworm-security': 'http://site/debian-security', 'bookworm-updates': 'http://u/d' },
      mirrorFallback: ['http://a/debian', 'http://b/debian'],
      noCache: true,
      refresh: false,
      maxAgeDays: 0,
      proxy: 'http://p:3128',
      verbose: true,
    }),
    [
      '--cache-dir',
      '/c',
      'build',
      '--json',
      '--profile',
      './site.ts',
      '--distro',
      'debian-bookworm',
      '--format',
      'iso,qcow2',
      '--output',
      '/o',
      '--mirror',
      'http://site/debian',
      '--suite-mirror',
      'bookworm-security=http://site/debian-security',
      '--suite-mirror',
      'bookworm-updates=http://u/d',
      '--mirror-fallback',
      'http://a/debian',
      '--mirror-fallback',
      'http://b/debian',
      '--no-cache',
      '--max-age',
      '0',
      '--proxy',
      'http://p:3128',
      '--verbose',
    ],
  );
});

test('errorFromEvent: the error a build reported, as the class the CLI would have printed', () => {
  const original = new CommandError(['qemu-img', 'convert'], 1, 'No space left', undefined, 'converting');
  const back = errorFromEvent({ ...at, ...errorEventBody(original) });
  assert.instance(back, CommandError);
  assert.is(back.message, original.message);
  assert.equal((back as CommandError).argv, original.argv);

  // a program that could not be run: the build's words, what to do, exit code 5 in the event
  const missing = new CommandNotFoundError(['mksquashfs'], 127, '', {
    what: 'mksquashfs was not found on the build host',
    where: 'host',
    hint: 'install squashfs-tools',
    program: 'mksquashfs',
  });
  const event = errorEventBody(missing);
  assert.is(event.exitCode, 5);
  const missingBack = errorFromEvent({ ...at, ...event });
  assert.instance(missingBack, CommandError);
  assert.match(
    missingBack.message,
    /^mksquashfs was not found on the build host \(not retried\): mksquashfs$/,
  );
  assert.is((missingBack as CommandError & { hint?: string }).hint, 'install squashfs-tools');

  const input = errorFromEvent({ ...at, ...errorEventBody(new UserError('bad --output', 'give a folder')) });
  assert.instance(input, UserError);
  assert.is((input as UserError).hint, 'give a folder');

  const stopped = errorFromEvent({ ...at, ...errorEventBody(new Error('x'), 'SIGTERM') });
  assert.instance(stopped, InterruptedError);
  assert.is((stopped as InterruptedError).signal, 'SIGTERM');

  assert.instance(errorFromEvent({ ...at, ...errorEventBody(new TypeError('bug')) }), InternalError);
});

test.run();
