/**
 * The ephemeral ISO suite (test/integration/ephemeral-iso.ts) on Debian 12, in the release matrix
 * (`npm run test:distros`); `npm test` runs it on ubuntu-focal (41-ephemeral-focal).
 */
process.env.IB_NATIVE_TEST_DISTRO ??= 'debian-bookworm';
await import('../integration/ephemeral-iso.ts');
