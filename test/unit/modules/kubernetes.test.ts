import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  KUBERNETES_PREFERENCES,
  kubernetesModule,
  kubernetesPinVersion,
  kubernetesPreferences,
  kubernetesRepo,
  kubernetesRepoUrl,
  PKGS_K8S_IO_FINGERPRINT,
  parseKubernetesVersion,
  renderKubernetesPreferences,
} from '../../../src/modules/kubernetes.ts';
import { profileSchema } from '../../../src/profile/schema.ts';
import { bodies, profile } from './helpers.ts';

const schemaIssues = (kubernetes: unknown) => {
  const r = profileSchema.safeParse({ name: 't', kubernetes });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

test('version grammar: 1.MINOR or 1.MINOR.PATCH, nothing else', () => {
  assert.equal(parseKubernetesVersion('1.31'), { minor: '1.31' });
  assert.equal(parseKubernetesVersion('1.31.2'), { minor: '1.31', patch: '1.31.2' });
  assert.equal(parseKubernetesVersion('1.0.0'), { minor: '1.0', patch: '1.0.0' });
  for (const bad of [
    '',
    '1',
    'v1.31',
    '1.31.',
    '1.031',
    '1.31.02',
    '2.0',
    '1.31.2-1.1',
    '1.31.*',
    '1.31 ',
    '1.31\n',
    '1.31.2.3',
    '1.31;rm',
  ]) {
    assert.is(parseKubernetesVersion(bad), undefined, JSON.stringify(bad));
    const issues = schemaIssues({ version: bad });
    assert.is(issues.length, 1, JSON.stringify(bad));
    assert.match(issues[0]!, /^kubernetes\.version: must be a Kubernetes version such as '1\.31'/);
  }
  assert.equal(schemaIssues({ version: '1.31.2' }), []);
});

test('mirror and key: an http(s) URL without spaces, query or fragment; the key a file or { url, fingerprint }', () => {
  assert.equal(schemaIssues({ version: '1.31', mirror: 'http://127.0.0.1:47123/' }), []);
  assert.equal(schemaIssues({ version: '1.31', mirror: 'https://m.example/pkgs.k8s.io' }), []);
  for (const bad of ['ftp://m/', 'http://m/a b', 'http://m/?x=1', 'http://m/#f', 'http://m/\nx', 'm/'])
    assert.match(schemaIssues({ mirror: bad }).join(), /^kubernetes\.mirror: must be an http\(s\) URL/, bad);
  assert.match(schemaIssues({ key: { url: 'http://m/k', fingerprint: 'abc' } }).join(), /^kubernetes\.key/);
  assert.match(schemaIssues({ version: '1.31', extra: 1 }).join(), /Unrecognized key/);
});

test('repo URL: the minor on pkgs.k8s.io, or the same layout on a mirror (trailing slashes folded)', () => {
  assert.is(kubernetesRepoUrl('1.31'), 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/');
  assert.is(
    kubernetesRepoUrl('1.30', 'http://127.0.0.1:8080//'),
    'http://127.0.0.1:8080/core:/stable:/v1.30/deb/',
  );
  assert.is(kubernetesRepoUrl('1.29', 'http://m/k8s'), 'http://m/k8s/core:/stable:/v1.29/deb/');
});

test('repo: flat, signed by the repo Release.key pinned to pkgs.k8s.io, installing the three packages', () => {
  assert.is(PKGS_K8S_IO_FINGERPRINT, 'DE15B14486CD377B9E876E1A234654DA9A296436');
  assert.equal(kubernetesRepo(profile({ kubernetes: { version: '1.31.2' } })), {
    name: 'kubernetes',
    url: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/',
    suite: '/',
    key: {
      url: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/Release.key',
      fingerprint: PKGS_K8S_IO_FINGERPRINT,
    },
    packages: ['kubelet', 'kubeadm', 'kubectl'],
  });
  // a mirror serves the same key (same fingerprint) unless the profile gives its own
  const mirrored = kubernetesRepo(profile({ kubernetes: { version: '1.30', mirror: 'http://m/' } }));
  assert.equal(mirrored?.key, {
    url: 'http://m/core:/stable:/v1.30/deb/Release.key',
    fingerprint: PKGS_K8S_IO_FINGERPRINT,
  });
  const own = { url: 'http://m/k.asc', fingerprint: 'AAAA BBBB CCCC DDDD EEEE FFFF 0000 1111 2222 3333' };
  assert.equal(
    kubernetesRepo(profile({ kubernetes: { version: '1.30', mirror: 'http://m/', key: own } }))?.key,
    {
      url: 'http://m/k.asc',
      fingerprint: 'AAAABBBBCCCCDDDDEEEEFFFF0000111122223333',
    },
  );
  assert.is(kubernetesRepo(profile()), undefined);
  assert.is(kubernetesRepo(profile({ kubernetes: { mirror: 'http://m/' } })), undefined);
});

test('pin: every patch of a minor, or every revision of one patch; all other versions refused', () => {
  assert.is(kubernetesPinVersion({ minor: '1.31' }), '1.31.*');
  assert.is(kubernetesPinVersion({ minor: '1.31', patch: '1.31.2' }), '1.31.2-*');
  assert.is(
    renderKubernetesPreferences({ minor: '1.31', patch: '1.31.2' }),
    `Explanation: ib-native: kubernetes.version 1.31.2
Package: kubelet kubeadm kubectl
Pin: version 1.31.2-*
Pin-Priority: 1001

Explanation: ib-native: no other version of them
Package: kubelet kubeadm kubectl
Pin: version *
Pin-Priority: -1
`,
  );
  assert.match(
    kubernetesPreferences(profile({ kubernetes: { version: '1.30' } }))!,
    /^Pin: version 1\.30\.\*$/m,
  );
  assert.is(kubernetesPreferences(profile()), undefined);
});

test('module: writes the pin into the image (every context); nothing without kubernetes', () => {
  const p = profile({ kubernetes: { version: '1.31' } });
  const ops = kubernetesModule.plan(p);
  assert.equal(bodies(ops), [
    { kind: 'writeFile', path: KUBERNETES_PREFERENCES, mode: '0644', content: kubernetesPreferences(p) },
  ]);
  assert.equal(ops[0]!.contexts, ['common']);
  assert.equal(kubernetesModule.validate!(p), []);
  assert.equal(kubernetesModule.plan(profile()), []);
  assert.equal(kubernetesModule.validate!(profile()), []);
});

test('validate: no version, a version pkgs.k8s.io lacks, and hand-written Kubernetes packages or repo', () => {
  const paths = (fields: Parameters<typeof profile>[0]) => kubernetesModule.validate!(profile(fields));
  assert.equal(paths({ kubernetes: { mirror: 'http://m/' } }), [
    { path: 'kubernetes.version', message: "is required when kubernetes is set, e.g. '1.31'" },
  ]);
  const old = paths({ kubernetes: { version: '1.21' } });
  assert.equal(
    old.map((i) => i.path),
    ['kubernetes.version'],
  );
  assert.match(
    old[0]!.message,
    /pkgs\.k8s\.io has repos from 1\.24 on, none for 1\.21; .*kubernetes\.mirror/,
  );
  assert.equal(paths({ kubernetes: { version: '1.21', mirror: 'http://m/' } }), []);
  const both = paths({
    kubernetes: { version: '1.31' },
    kubelet: { version: '1.21.2-00' },
    packages: ['kubectl', 'jq'],
    repos: [
      { name: 'kubernetes', url: 'http://m/', suite: 'x', trusted: true, packages: ['kubelet=1.31.0-1.1'] },
    ],
  });
  assert.equal(
    both.map((i) => i.path),
    ['kubelet.version', 'packages[0]', 'repos[0].packages[0]', 'repos[0].name'],
  );
  assert.match(
    both[0]!.message,
    /kubernetes\.version \(1\.31\) pins kubelet, kubeadm and kubectl; drop kubelet\.version/,
  );
  assert.match(both[1]!.message, /kubectl comes from kubernetes\.version \(1\.31\)/);
  assert.match(
    both[3]!.message,
    /adds the repo "kubernetes" \(https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/deb\/\)/,
  );
});

test('validate: the retired apt.kubernetes.io and a Kubernetes version in kubelet.version say how to migrate', () => {
  const retired = kubernetesModule.validate!(
    profile({
      kubelet: { version: '1.21.2-00' },
      repos: [
        { name: 'k8s', url: 'https://apt.kubernetes.io/', suite: 'kubernetes-xenial', trusted: true },
        { name: 'site', url: 'http://10.0.0.5/apt', suite: 'stable', trusted: true },
      ],
    }),
  );
  assert.equal(
    retired.map((i) => i.path),
    ['repos[0].url'],
  );
  assert.match(retired[0]!.message, /apt\.kubernetes\.io was retired .* kubernetes: \{ version: '1\.31' \}/);
  const legacy = kubernetesModule.validate!(profile({ kubelet: { version: '1.31.2' } }));
  assert.equal(
    legacy.map((i) => i.path),
    ['kubelet.version'],
  );
  assert.match(legacy[0]!.message, /write kubernetes: \{ version: '1\.31\.2' \} instead/);
  // an exact package version with a repo of the profile's keeps working
  assert.equal(
    kubernetesModule.validate!(
      profile({
        kubelet: { version: '1.21.2-00' },
        repos: [{ name: 'k8s', url: 'http://10.0.0.5/k8s', suite: 'kubernetes-xenial', trusted: true }],
      }),
    ),
    [],
  );
});

test.run();
