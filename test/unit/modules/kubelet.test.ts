import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KUBEADM_DROPIN, kubeletModule, systemdArg } from '../../../src/modules/kubelet.ts';
import { bodies, profile, withoutHeader, written } from './helpers.ts';

const repo = {
  name: 'kubernetes',
  url: 'https://apt.kubernetes.io/',
  suite: 'kubernetes-xenial',
  trusted: true,
};

test('kubelet: the kubeadm drop-in with sorted --name=value extra args; service enabled', () => {
  const p = profile({
    kubelet: {
      enabled: true,
      extraArgs: { 'node-labels': 'role=worker', 'max-pods': '200' },
      cpuAffinity: '0-1',
    },
    cpu: { kubeletReservedCpus: '0-3' },
    repos: [{ ...repo, packages: ['kubelet'] }],
  });
  const ops = kubeletModule.plan(p);
  assert.is(
    withoutHeader(written(ops, KUBEADM_DROPIN)),
    `[Unit]
StartLimitIntervalSec=0

[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# written by "kubeadm init" and "kubeadm join": sets KUBELET_KUBEADM_ARGS
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# the operator's last-resort overrides: KUBELET_EXTRA_ARGS
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS --max-pods=200 --node-labels=role=worker --reserved-cpus=0-3
CPUAffinity=0-1
Restart=always
RestartSec=10
`,
  );
  assert.equal(bodies(ops)[1], { kind: 'unit', name: 'kubelet.service', action: 'enable' });
  assert.equal(kubeletModule.validate!(p), []);
});

test('kubelet: systemd specials in arguments are escaped', () => {
  assert.is(systemdArg('--x=50%'), '--x=50%%');
  assert.is(systemdArg('--x=$HOME'), '--x=$$HOME');
  assert.is(systemdArg('--labels=a b"c'), '"--labels=a b\\"c"');
});

test('kubelet: version pins the Kubernetes packages and must agree with repo pins', () => {
  const p = profile({
    kubelet: { version: '1.21.2-00' },
    repos: [{ ...repo, packages: ['kubelet=1.21.2-00', 'kubectl=1.20.0-00'] }],
  });
  assert.equal(kubeletModule.packages!(p), ['kubelet=1.21.2-00', 'kubeadm=1.21.2-00', 'kubectl=1.21.2-00']);
  assert.equal(kubeletModule.validate!(p), [
    { path: 'repos[0].packages[1]', message: 'pins kubectl to 1.20.0-00 but kubelet.version is 1.21.2-00' },
  ]);
});

test('kubelet: enabled with nothing installing it is an error; kubernetes.version installs it', () => {
  const issues = kubeletModule.validate!(profile({ kubelet: { enabled: true } }));
  assert.equal(
    issues.map((i) => i.path),
    ['kubelet'],
  );
  assert.match(
    issues[0]!.message,
    /nothing installs the kubelet package; set kubernetes: \{ version: '1\.31' \}/,
  );
  const k8s = profile({ kubelet: { enabled: true }, kubernetes: { version: '1.31' } });
  assert.equal(kubeletModule.validate!(k8s), []);
  // the packages come with the kubernetes repo, unpinned (the apt preferences pin them)
  assert.equal(kubeletModule.packages!(k8s), []);
  assert.equal(
    kubeletModule.packages!(profile({ kubelet: { version: '1.21.2-00' }, kubernetes: { version: '1.31' } })),
    [],
  );
});

test('kubelet: disabled does nothing', () => {
  const off = profile({ kubelet: { enabled: false, version: '1.21.2-00' } });
  assert.equal(kubeletModule.plan(off), []);
  assert.equal(kubeletModule.packages!(off), []);
  assert.equal(kubeletModule.plan(profile()), []);
});

test.run();
