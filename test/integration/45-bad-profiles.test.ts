/**
 * Bad worker profiles fail clearly and change nothing (worker-bad-profiles.ts) on ubuntu-focal, in
 * `<scratch>/focal`: the bad profiles extend the worker test profile, so their builds reuse the focal
 * worker rootfs 40-worker-focal cached and stop at the configuration step they break. Skipped with the
 * reason when focal's archive does not answer.
 */
import { onFocal } from '../helpers/archive.ts';

await onFocal('45-bad-profiles', () => import('./worker-bad-profiles.ts'));
