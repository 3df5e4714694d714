/**
 * A local signed apt repository for integration tests: tiny fake .deb packages made with
 * `dpkg-deb --build`, indexed with `apt-ftparchive`, signed with a throw-away GPG key
 * (InRelease and Release.gpg), and served over HTTP on 127.0.0.1 by this very process.
 */
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';

export interface FakePackage {
  name: string;
  version: string;
  /** Debian Depends field. */
  depends?: string;
  description: string;
  /** In-package path -> { content, mode }. */
  files: Record<string, { content: string | Buffer; mode: number }>;
}

/** Build one .deb into outDir with dpkg-deb; returns its path. */
export async function buildFakeDeb(pkg: FakePackage, workDir: string, outDir: string): Promise<string> {
  const root = path.join(workDir, `${pkg.name}_${pkg.version}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  const control = [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    'Architecture: amd64',
    'Maintainer: ib-native tests <tests@ib-native.invalid>',
    'Section: admin',
    'Priority: optional',
    ...(pkg.depends ? [`Depends: ${pkg.depends}`] : []),
    `Description: ${pkg.description}`,
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'DEBIAN/control'), control);
  for (const [file, { content, mode }] of Object.entries(pkg.files)) {
    const dest = path.join(root, file);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, content, { mode });
  }
  mkdirSync(outDir, { recursive: true });
  const deb = path.join(outDir, `${pkg.name}_${pkg.version}_amd64.deb`);
  await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, deb]);
  rmSync(root, { recursive: true, force: true });
  return deb;
}

const gpgEnv = (home: string) => ({ GNUPGHOME: home });

/**
 * A signing key in `home` (made once: `gpg --quick-gen-key`, no passphrase). Kept between runs so
 * the exported public key, part of the rootfs cache key, stays the same and the rootfs is reused.
 * Returns the key's fingerprint.
 */
export async function ensureSigningKey(home: string, uid = 'ib-native test repo <repo@ib-native.invalid>') {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const list = async () =>
    execa('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env: gpgEnv(home), reject: false });
  let keys = await list();
  if (!/^fpr:/m.test(String(keys.stdout))) {
    await execa(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-gen-key',
        uid,
        'default',
        'default',
        'never',
      ],
      { env: gpgEnv(home) },
    );
    keys = await list();
  }
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(String(keys.stdout))?.[1];
  if (!fpr) throw new Error(`no secret key in ${home}:\n${keys.stdout}${keys.stderr}`);
  return fpr;
}

/** The armored public key, to the file a profile's repo `key` points at. */
export async function exportPublicKey(home: string, fpr: string, dest: string): Promise<void> {
  const r = await execa('gpg', ['--batch', '--armor', '--export', fpr], { env: gpgEnv(home) });
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, `${r.stdout}\n`);
}

/**
 * Serve the public key beside the repo: exported into `<root>/<rel>` (default keys/repo.asc), so
 * a profile can give `key: { url: <served url> + rel, fingerprint }`. Returns `rel`.
 */
export async function publishPublicKey(home: string, fpr: string, root: string, rel = 'keys/repo.asc') {
  await exportPublicKey(home, fpr, path.join(root, rel));
  return rel;
}

/** Stop the gpg-agent a GNUPGHOME started. */
export async function stopGpgAgent(home: string): Promise<void> {
  if (existsSync(home)) await execa('gpgconf', ['--kill', 'all'], { env: gpgEnv(home), reject: false });
}

export interface RepoLayout {
  /** Repository root (what the server serves). */
  root: string;
  suite: string;
  component: string;
}

/**
 * Index the .debs under `<root>/pool` into `dists/<suite>` (apt-ftparchive packages + release) and
 * sign the Release file: InRelease (clear-signed) and Release.gpg (detached).
 */
export async function indexAndSign(repo: RepoLayout, gnupgHome: string, fpr: string): Promise<void> {
  const { root, suite, component } = repo;
  const dist = path.join(root, 'dists', suite);
  const bin = path.join(dist, component, 'binary-amd64');
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  const packages = await execa('apt-ftparchive', ['packages', 'pool'], { cwd: root });
  writeFileSync(
    path.join(bin, 'Packages'),
    packages.stdout.endsWith('\n') ? packages.stdout : `${packages.stdout}\n`,
  );
  await execa('gzip', ['-9', '--keep', '--no-name', path.join(bin, 'Packages')]);
  const release = await execa(
    'apt-ftparchive',
    [
      '-o',
      `APT::FTPArchive::Release::Origin=ib-native-test`,
      '-o',
      `APT::FTPArchive::Release::Label=ib-native-test`,
      '-o',
      `APT::FTPArchive::Release::Suite=${suite}`,
      '-o',
      `APT::FTPArchive::Release::Codename=${suite}`,
      '-o',
      `APT::FTPArchive::Release::Components=${component}`,
      '-o',
      'APT::FTPArchive::Release::Architectures=amd64',
      'release',
      '.',
    ],
    { cwd: dist },
  );
  // written after indexing, so the Release file does not list itself
  writeFileSync(path.join(dist, 'Release'), `${release.stdout}\n`);
  await signRelease(dist, gnupgHome, fpr);
}

/** Sign `<dir>/Release`: InRelease (clear-signed) and Release.gpg (detached). */
async function signRelease(dir: string, gnupgHome: string, fpr: string): Promise<void> {
  const sign = (args: string[]) =>
    execa(
      'gpg',
      ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', fpr, ...args],
      {
        env: gpgEnv(gnupgHome),
      },
    );
  await sign([
    '--clearsign',
    '--digest-algo',
    'SHA256',
    '--output',
    path.join(dir, 'InRelease'),
    path.join(dir, 'Release'),
  ]);
  await sign([
    '--armor',
    '--detach-sign',
    '--digest-algo',
    'SHA256',
    '--output',
    path.join(dir, 'Release.gpg'),
    path.join(dir, 'Release'),
  ]);
}

/**
 * A flat repository (apt's `Suites: /`, no components) as pkgs.k8s.io serves one per Kubernetes
 * minor: the .debs under `<dir>/amd64/`, Packages(.gz), Release, InRelease and Release.gpg in `dir`
 * itself, and the public key as `<dir>/Release.key`.
 */
export async function indexAndSignFlat(dir: string, gnupgHome: string, fpr: string): Promise<void> {
  for (const f of ['Packages', 'Packages.gz', 'Release', 'InRelease', 'Release.gpg'])
    rmSync(path.join(dir, f), { force: true });
  const packages = await execa('apt-ftparchive', ['packages', 'amd64'], { cwd: dir });
  writeFileSync(
    path.join(dir, 'Packages'),
    packages.stdout.endsWith('\n') ? packages.stdout : `${packages.stdout}\n`,
  );
  await execa('gzip', ['-9', '--keep', '--no-name', path.join(dir, 'Packages')]);
  const release = await execa(
    'apt-ftparchive',
    [
      '-o',
      'APT::FTPArchive::Release::Origin=ib-native-test',
      '-o',
      'APT::FTPArchive::Release::Label=ib-native-test',
      '-o',
      'APT::FTPArchive::Release::Architectures=amd64',
      'release',
      '.',
    ],
    { cwd: dir },
  );
  writeFileSync(path.join(dir, 'Release'), `${release.stdout}\n`);
  await signRelease(dir, gnupgHome, fpr);
  await exportPublicKey(gnupgHome, fpr, path.join(dir, 'Release.key'));
}

export interface ServedRepo {
  url: string;
  port: number;
  /** Request paths seen (to prove apt fetched from here). */
  requests: string[];
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/**
 * Serve a folder read-only over HTTP on 127.0.0.1. Tries `preferredPort` first (the repo URL is
 * part of the rootfs cache key, so a stable port lets later runs reuse the rootfs), then any free one.
 */
export async function serveRepo(root: string, preferredPort = 0): Promise<ServedRepo> {
  const requests: string[] = [];
  const base = path.resolve(root);
  const server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method} ${urlPath}`);
    const file = path.resolve(base, `.${urlPath}`);
    const ok =
      (req.method === 'GET' || req.method === 'HEAD') &&
      (file === base || file.startsWith(`${base}/`)) &&
      existsSync(file) &&
      statSync(file).isFile();
    if (!ok) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const st = statSync(file);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(st.size),
      'last-modified': st.mtime.toUTCString(),
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  let port: number;
  try {
    port = await listen(server, preferredPort);
  } catch (e) {
    if (preferredPort === 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    port = await listen(server, 0);
  }
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Read a served file's text (for assertions about the repo itself). */
export function repoFile(repo: RepoLayout, rel: string): string {
  return readFileSync(path.join(repo.root, rel), 'utf8');
}
