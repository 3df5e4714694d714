import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { redact } from '../../src/log.ts';
import { netEnv, proxySecrets } from '../../src/proxy.ts';

test('netEnv: nothing set, nothing returned', () => {
  assert.equal(netEnv({}, {}), {});
});

test('netEnv: --proxy sets http and https in both cases; --no-proxy too', () => {
  assert.equal(
    netEnv({ proxy: 'http://p:3128', noProxy: 'localhost,10.0.0.0/8' }, { https_proxy: 'http://other:1' }),
    {
      http_proxy: 'http://p:3128',
      HTTP_PROXY: 'http://p:3128',
      https_proxy: 'http://p:3128',
      HTTPS_PROXY: 'http://p:3128',
      no_proxy: 'localhost,10.0.0.0/8',
      NO_PROXY: 'localhost,10.0.0.0/8',
    },
  );
});

test('netEnv: from the environment; lower case first; https falls back to http', () => {
  assert.equal(netEnv({}, { HTTP_PROXY: 'http://upper:1', http_proxy: 'http://lower:1', NO_PROXY: 'x' }), {
    http_proxy: 'http://lower:1',
    HTTP_PROXY: 'http://lower:1',
    https_proxy: 'http://lower:1',
    HTTPS_PROXY: 'http://lower:1',
    no_proxy: 'x',
    NO_PROXY: 'x',
  });
  assert.equal(netEnv({}, { HTTPS_PROXY: 'http://s:1' }), {
    https_proxy: 'http://s:1',
    HTTPS_PROXY: 'http://s:1',
  });
});

test('proxySecrets: passwords (raw and decoded) and user names of proxy URLs; no_proxy lists ignored', () => {
  const env = netEnv({ proxy: 'http://bob:p%40ss@proxy:3128', noProxy: 'localhost,.local' }, {});
  assert.equal([...new Set(proxySecrets(env))], ['p@ss', 'p%40ss', 'bob']);
  assert.equal(proxySecrets({ http_proxy: 'http://proxy:3128' }), []);
  const line = `$ curl --proxy ${env.http_proxy} https://x`;
  const masked = redact(line, proxySecrets(env));
  assert.not.match(masked, 'p%40ss');
  assert.not.match(masked, 'bob');
});

test('proxySecrets: a token-only proxy URL (http://TOKEN@proxy) masks the token wherever it appears', () => {
  const env = netEnv({ proxy: 'http://tok3n-abc@proxy:3128' }, {});
  assert.ok(proxySecrets(env).includes('tok3n-abc'));
  const masked = redact('proxy http://tok3n-abc@proxy:3128, header tok3n-abc', proxySecrets(env));
  assert.not.match(masked, 'tok3n-abc');
});
test.run();
