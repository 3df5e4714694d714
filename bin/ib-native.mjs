#!/usr/bin/env node
// Entry point: check Node.js, then run the CLI: the compiled JavaScript in dist/ when it was built
// from the sources as they are (bin/entry.mjs), else the TypeScript sources through tsx.
// Works through a symlink (npm's global bin folder): Node resolves it, so the paths below are
// relative to the package, wherever it is installed.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`error: ib-native needs Node.js 20.19 or later; this is ${process.version}\n`);
  process.exit(1);
}
const { fileURLToPath } = await import('node:url');
const { entryModule } = await import('./entry.mjs');
const root = new URL('../', import.meta.url);
const { which, file } = await entryModule(fileURLToPath(root));
if (which === 'source') {
  const { register } = await import('tsx/esm/api');
  register();
}
const { run } = await import(new URL(file, root).href);
run();
