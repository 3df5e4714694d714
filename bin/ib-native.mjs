#!/usr/bin/env node
// Entry point: check Node.js, load TypeScript sources through tsx, then hand over to the CLI.
// Works through a symlink (npm's global bin folder): Node resolves it, so the paths below are
// relative to the package, wherever it is installed.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`error: ib-native needs Node.js 20.19 or later; this is ${process.version}\n`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli.ts');
