/**
 * The worker QCOW2 acceptance suite (test/integration/worker-qcow2.ts) on Debian 12. `npm test` runs
 * it on ubuntu-focal (40-worker-focal) and judges the same checks on focal's live ISO
 * (41-ephemeral-focal); this runs the bookworm QCOW2 in the release matrix (`npm run test:distros`).
 */
process.env.IB_NATIVE_TEST_DISTRO ??= 'debian-bookworm';
await import('../integration/worker-qcow2.ts');
