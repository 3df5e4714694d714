import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONTAINERD_CONFIG, containerdModule } from '../../../src/modules/containerd.ts';
import { bodies, profile, withoutHeader, written } from './helpers.ts';

test('containerd: config version 2 with systemd cgroups, sandbox image and mirrors; service enabled', () => {
  const p = profile({
    containerd: {
      enabled: true,
      sandboxImage: 'k8s.gcr.io/pause:3.4.1',
      registryMirrors: { 'docker.io': ['https://mirror.example:5000', 'https://registry-1.docker.io'] },
    },
  });
  const ops = containerdModule.plan(p);
  assert.is(
    withoutHeader(written(ops, CONTAINERD_CONFIG)),
    `version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "k8s.gcr.io/pause:3.4.1"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
  endpoint = ["https://mirror.example:5000", "https://registry-1.docker.io"]
`,
  );
  assert.equal(bodies(ops)[1], { kind: 'unit', name: 'containerd.service', action: 'enable' });
  assert.equal(containerdModule.packages!(p), ['containerd']);
});

test('containerd: cgroupfs and another package when asked; nothing when disabled', () => {
  const p = profile({ containerd: { systemdCgroup: false, package: 'containerd.io' } });
  assert.match(written(containerdModule.plan(p), CONTAINERD_CONFIG)!, /SystemdCgroup = false\n/);
  assert.equal(containerdModule.packages!(p), ['containerd.io']);
  assert.equal(containerdModule.plan(profile({ containerd: { enabled: false } })), []);
  assert.equal(containerdModule.packages!(profile()), []);
});

test.run();
