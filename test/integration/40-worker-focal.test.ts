/**
 * Issue 10, item 1: the worker acceptance test (worker-qcow2.ts: build the QCOW2 from the local pkgs.k8s.io
 * mirror, boot it, judge every runtime check) on Ubuntu 20.04, the distro the tool exists for.
 *
 * It is the worker QCOW2 suite run with IB_NATIVE_TEST_DISTRO=ubuntu-focal in `<scratch>/focal`.
 * When focal's archive does not answer (dists/focal/InRelease), the test is reported as skipped with
 * the reason, never as passed. The bookworm QCOW2 runs in the release matrix (test/distros).
 */
import { onFocal } from '../helpers/archive.ts';

await onFocal('40-worker-focal', () => import('./worker-qcow2.ts'));
