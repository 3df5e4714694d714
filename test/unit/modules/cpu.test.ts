import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuKernelArgs, cpuKubeletArgs, cpuModule, parseCpuList } from '../../../src/modules/cpu.ts';
import { profile } from './helpers.ts';

test('cpu: hugepages and isolation become kernel parameters, in pairs and in order', () => {
  const p = profile({
    cpu: {
      hugepages: {
        defaultSize: '1G',
        pages: [
          { size: '1G', count: 8 },
          { size: '2M', count: 1024 },
        ],
      },
      isolcpus: '4-7',
      nohzFull: '4-7',
      rcuNocbs: '4-7',
      kubeletReservedCpus: '0-3',
    },
    kubelet: { enabled: true },
  });
  assert.equal(cpuKernelArgs(p), [
    'default_hugepagesz=1G',
    'hugepagesz=1G',
    'hugepages=8',
    'hugepagesz=2M',
    'hugepages=1024',
    'isolcpus=4-7',
    'nohz_full=4-7',
    'rcu_nocbs=4-7',
  ]);
  assert.equal(cpuKubeletArgs(p), { 'reserved-cpus': '0-3' });
  assert.equal(cpuModule.plan(p), []);
  assert.equal(cpuModule.validate!(p), []);
});

test('cpu: CPU lists expand; backwards ranges do not', () => {
  assert.equal(parseCpuList('0-2,5'), [0, 1, 2, 5]);
  assert.is(parseCpuList('3-1'), undefined);
});

test('cpu: overlapping, duplicated or orphaned settings are errors', () => {
  const issues = cpuModule.validate!(
    profile({
      cpu: {
        isolcpus: '2-5',
        kubeletReservedCpus: '0-3',
        nohzFull: '7-6',
        hugepages: { pages: [{ size: '2M', count: 1 }] },
      },
      grub: { cmdline: ['isolcpus=1'] },
      kubelet: { enabled: false },
    }),
  );
  assert.equal(
    issues.map((i) => i.path),
    ['cpu.nohzFull', 'cpu.isolcpus', 'grub.cmdline', 'cpu.kubeletReservedCpus'],
  );
  assert.match(issues[1]!.message, /isolates CPUs 2,3/);
  const pinnedTwice = cpuModule.validate!(
    profile({
      cpu: { kubeletReservedCpus: '0-1' },
      kubelet: { enabled: true, extraArgs: { 'reserved-cpus': '0-3' } },
    }),
  );
  assert.equal(
    pinnedTwice.map((i) => i.path),
    ['kubelet.extraArgs.reserved-cpus'],
  );
});

test.run();
