import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchModule } from '../../../src/modules/fetch.ts';
import { bodies, profile } from './helpers.ts';

const SHA = 'a'.repeat(64);

test('fetch: into /tmp/url_resources, named by the URL or by name, with contexts', () => {
  const ops = fetchModule.plan(
    profile({
      fetch: [
        { url: 'https://example.com/dl/tool%20v2.tar.gz?x=1', sha256: SHA },
        { url: 'https://example.com/get', sha256: SHA, name: 'agent.bin', contexts: ['qcow2'] },
      ],
    }),
  );
  assert.equal(bodies(ops), [
    {
      kind: 'fetch',
      url: 'https://example.com/dl/tool%20v2.tar.gz?x=1',
      sha256: SHA,
      path: '/tmp/url_resources/tool v2.tar.gz',
    },
    { kind: 'fetch', url: 'https://example.com/get', sha256: SHA, path: '/tmp/url_resources/agent.bin' },
  ]);
  assert.equal(ops[1]!.contexts, ['disk']);
});

test('fetch: unusable or clashing file names are errors', () => {
  const issues = fetchModule.validate!(
    profile({
      fetch: [
        { url: 'https://example.com/', sha256: SHA },
        { url: 'https://a.example/x.tgz', sha256: SHA },
        { url: 'https://b.example/x.tgz', sha256: SHA },
        { url: 'https://c.example/y', sha256: SHA, name: '../etc/passwd' },
      ],
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['fetch[0].name', 'fetch[2].name', 'fetch[3].name'],
  );
  assert.match(issues[1]!.message, /also the file name of fetch\[1\]/);
});

test('fetch: only http and https URLs; file:// and others would read the build host', () => {
  const issues = fetchModule.validate!(
    profile({
      fetch: [
        { url: 'file:///etc/shadow', sha256: SHA, name: 'a' },
        { url: 'ftp://example.com/b', sha256: SHA },
        { url: 'HTTPS://example.com/c', sha256: SHA },
        { url: 'http://example.com/d', sha256: SHA },
        { url: 'gopher://example.com/e', sha256: SHA },
      ],
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['fetch[0].url', 'fetch[1].url', 'fetch[4].url'],
  );
  assert.match(issues[0]!.message, /file: URLs are not fetched.*http:\/\/ or https:\/\//);
});

test.run();
