/**
 * Issue 10, item 1: the worker acceptance test (worker-qcow2.ts: build the QCOW2 from the local pkgs.k8s.io
 * mirror, boot it, judge every runtime check) on Ubuntu 20.04, the distro the tool exists for.
 *
 * It is the worker QCOW2 suite (worker-qcow2.ts) run with IB_NATIVE_TEST_DISTRO=ubuntu-focal in its own scratch folder.
 * When focal's archive does not answer (dists/focal/InRelease), the test is reported as skipped with
 * the reason, never as passed.
 */
import path from 'node:path';
import { test } from 'uvu';
import { getDistro } from '../../src/distro/index.ts';
import { archiveProblem } from '../helpers/archive.ts';

const problem = await archiveProblem(getDistro('ubuntu-focal'));
if (problem) {
  process.stdout.write(`SKIPPED 40-worker-focal: ${problem}\n`);
  test.skip(`the worker on ubuntu-focal (skipped: ${problem})`, () => undefined);
  test.run();
} else {
  process.env.IB_NATIVE_TEST_DISTRO = 'ubuntu-focal';
  const scratch = process.env.IB_NATIVE_TEST_SCRATCH ?? '/var/tmp/ib-native-test';
  process.env.IB_NATIVE_TEST_SCRATCH = path.join(scratch, 'focal');
  // the helpers read both variables when they are first imported: after this point
  await import('./worker-qcow2.ts');
}
