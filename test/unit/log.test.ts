import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consoleLogger, recordingLogger, redact } from '../../src/log.ts';

test('redact: user:password@ in any URL is masked', () => {
  assert.is(redact('GET http://user:s3cret@proxy:3128/x'), 'GET http://***:***@proxy:3128/x');
  assert.is(redact('https://a:b@h and ftp://c:d@h2/'), 'https://***:***@h and ftp://***:***@h2/');
  assert.is(redact('git+ssh://me:tok@github.com/x'), 'git+ssh://***:***@github.com/x');
  // a token-only proxy URL carries its secret as the user name
  assert.is(redact('via http://ghp_T0KEN@proxy:3128/x'), 'via http://***@proxy:3128/x');
});

test('redact: URLs without credentials are unchanged; a user part alone is masked (it may be a token)', () => {
  assert.is(redact('http://proxy:3128/x'), 'http://proxy:3128/x');
  assert.is(redact('http://user@host/x'), 'http://***@host/x');
  assert.is(redact('mail me at a@b.c: ok'), 'mail me at a@b.c: ok');
});

test('redact: given secrets are masked everywhere; empty secrets ignored', () => {
  assert.is(redact('token=abc123 and again abc123', ['abc123', '']), 'token=*** and again ***');
  assert.is(redact('nothing', ['']), 'nothing');
});

test('recordingLogger: keeps lines with their level', () => {
  const l = recordingLogger();
  l.info('a');
  l.warn('b');
  l.debug('c');
  assert.equal(l.lines, ['info a', 'warn b', 'debug c']);
});

test('consoleLogger: a log file on a full disk (/dev/full) warns once and never throws', () => {
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const l = consoleLogger({ file: '/dev/full' });
    l.debug('umount /x');
    l.info('still going');
    l.warn('and on');
  } finally {
    process.stderr.write = write;
  }
  const warnings = written.filter((w) => w.includes('cannot be written'));
  assert.is(warnings.length, 1, written.join(''));
  assert.match(warnings[0]!, /\/dev\/full cannot be written: ENOSPC/);
  assert.ok(written.some((w) => w.includes('still going')));
});

test.run();
