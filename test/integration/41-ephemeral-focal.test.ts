/**
 * Issue 10, items 1 and 3: the ephemeral ISO suite (ephemeral-iso.ts: a Kubernetes node on a live ISO,
 * AppArmor loaded, every worker check judged on the live system) on Ubuntu 20.04. Its test profile
 * has the worker suite's package set, so it reuses the focal rootfs 40-worker-focal cached.
 * Skipped with the reason when focal's archive does not answer; bookworm's runs in the release matrix.
 */
import { onFocal } from '../helpers/archive.ts';

await onFocal('41-ephemeral-focal', () => import('./ephemeral-iso.ts'));
