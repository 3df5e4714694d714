/**
 * Proxy settings for the build's network tools (debootstrap, apt in the chroot, curl).
 * Pure: from flags and the environment to an env map; never written into the image.
 */
export interface ProxyInput {
  proxy?: string;
  noProxy?: string;
}

export function netEnv(i: ProxyInput, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const proxy = i.proxy ?? env.http_proxy ?? env.HTTP_PROXY;
  const https = i.proxy ?? env.https_proxy ?? env.HTTPS_PROXY ?? proxy;
  const noProxy = i.noProxy ?? env.no_proxy ?? env.NO_PROXY;
  const out: Record<string, string> = {};
  if (proxy) Object.assign(out, { http_proxy: proxy, HTTP_PROXY: proxy });
  if (https) Object.assign(out, { https_proxy: https, HTTPS_PROXY: https });
  if (noProxy) Object.assign(out, { no_proxy: noProxy, NO_PROXY: noProxy });
  return out;
}

/** Credentials inside proxy URLs, to be masked in logs. */
export function proxySecrets(env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const v of Object.values(env)) {
    try {
      const u = new URL(v);
      if (u.password) out.push(decodeURIComponent(u.password), u.password);
      // a token-only URL (http://TOKEN@proxy) carries its secret as the user name
      if (u.username) out.push(decodeURIComponent(u.username), u.username);
    } catch {
      // not a URL (no_proxy lists)
    }
  }
  return out;
}

/** The environment variable that carries --proxy into the re-executed build (never its argv). */
export const PROXY_ENV = 'IB_NATIVE_PROXY';
