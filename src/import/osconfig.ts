// Over 300 lines: one mapper of the original's osconfig role variables; its field tables read best together.
import {
  asMapping,
  Collector,
  type ContextNames,
  contextsOf,
  hasTemplate,
  type Inherited,
  isObj,
  keyedChange,
  listChange,
  type MapOptions,
  type MapResult,
  mapChange,
  modeOf,
  numberish,
  problemOf,
  resolveTemplates,
  show,
  strings,
  unknownKeys,
  type Vars,
} from './values.ts';

/**
 * osconfig-vars.yaml (Airship image-builder's osconfig role) -> profile fragment (pure).
 *
 * Facts of the original (roles/osconfig/{defaults,tasks,templates}):
 * - `kernel.modules.load` entries are `{name, args: [{name, value}]}`, `blacklist` entries `{name}`;
 *   `sysctl` entries `{name, value}`; `limits` entries `{name, domain, type, item, value}`;
 * - `grub` holds `GRUB_TIMEOUT`, `GRUB_CMDLINE_LINUX_DEFAULT` and `GRUB_SERIAL_COMMAND`, both lists of
 *   `{name, value}` rendered as `name=value` and `--name=value`; `grub_cmdline_linux_default_append`
 *   adds to the command line; other keys of `grub` are not read by its template;
 * - `kdump_tools.crashkernel`, `kubelet.extra_systemd_args` (`{name, value}`, `--name=value` on the
 *   kubelet command line), `banners.login` (/etc/issue) and `banners.motd`;
 * - `directories`, `files`, `systemd`, `user_scripts`, `file_permissions`, `user_management` entries
 *   name their target with `name`, content with `file_content`, mode with `permissions`, and carry
 *   `run_contexts` (`{{ default_run_context }}` = common, `qcow`): an entry runs when the current
 *   context is listed;
 * - the rootfs file is read when the shared base is built (context common). A QCOW bundle entry's
 *   file is *appended* to it when that QCOW is built (context qcow): each variable it sets replaces the
 *   rootfs one, the others keep their rootfs value. Then only the grub task and the context-dependent
 *   lists run: kernel, sysctl, limits, kdump_tools, kubelet, banners and fetch_from_url in a bundle
 *   file were ignored. So a list the bundle sets drops the rootfs file's qcow entries of that list
 *   (they ran for QCOWs whose file does not set it), and the QCOW's command line is the bundle's (else
 *   the rootfs file's) `grub` plus the bundle's (else the rootfs file's) `grub_cmdline_linux_default_append`.
 * - `fetch_from_url` entries are `{url, use_proxy}`, with no checksum.
 */

const OSCONFIG_VARS = [
  'rootfs_root',
  'default_run_context',
  'qcow_run_context',
  'user_scripts_dir_default',
  'user_scripts_dir_qcow',
  'kernel',
  'banners',
  'kubelet',
  'grub',
  'grub_cmdline_linux_default_append',
  'kdump_tools',
  'limits',
  'sysctl',
  'directories',
  'files',
  'systemd',
  'user_scripts',
  'file_permissions',
  'user_management',
  'fetch_from_url',
  'fetch_from_url_append',
];
/** Variables whose tasks run only while the shared rootfs is built. */
const COMMON_ONLY = [
  'kernel',
  'banners',
  'kubelet',
  'kdump_tools',
  'limits',
  'sysctl',
  'fetch_from_url',
  'fetch_from_url_append',
];

interface ListSpec {
  field: string;
  key: string;
  /** original key -> profile key */
  keys: Record<string, string>;
}

const LISTS: Record<string, ListSpec> = {
  directories: {
    field: 'directories',
    key: 'path',
    keys: { name: 'path', permissions: 'mode', owner: 'owner', group: 'group' },
  },
  files: {
    field: 'files',
    key: 'path',
    keys: { name: 'path', file_content: 'content', permissions: 'mode', owner: 'owner', group: 'group' },
  },
  systemd: {
    field: 'systemd',
    key: 'name',
    keys: { name: 'name', file_content: 'content', enabled: 'enabled' },
  },
  user_scripts: { field: 'userScripts', key: 'name', keys: { file_content: 'content' } },
  file_permissions: {
    field: 'filePermissions',
    key: 'path',
    keys: { name: 'path', permissions: 'mode', owner: 'owner', group: 'group' },
  },
  user_management: {
    field: 'users',
    key: 'name',
    keys: { name: 'name', shell: 'shell', password: 'passwordHash', password_lock: 'passwordLock' },
  },
};

interface Ctx {
  c: Collector;
  names: ContextNames;
  scope: 'rootfs' | 'qcow-bundle';
  image?: string;
}

/** One entry of a context-dependent list, or undefined (reported) when it cannot be expressed. */
function mapEntry(spec: ListSpec, varName: string, e: unknown, i: number, x: Ctx): Vars | undefined {
  const at = `${varName}[${i}]`;
  if (!isObj(e)) return void x.c.skip(at, `${show(e)} is not a mapping`);
  // user scripts have no name in the original: number them (per bundle entry, so they do not replace the rootfs ones)
  const out: Vars =
    varName === 'user_scripts'
      ? {
          name:
            x.scope === 'qcow-bundle' ? `${x.image ?? 'qcow'}-user-script-${i + 1}` : `user-script-${i + 1}`,
        }
      : {};
  for (const [k, val] of Object.entries(e)) {
    if (k === 'run_contexts') continue;
    if (val === undefined || val === null) continue;
    if (k === 'force' && varName === 'systemd') {
      if (val === true)
        x.c.skip(
          `${at}.force`,
          'ib-native enables units with plain `systemctl enable` (no --force): a conflicting link fails the build',
        );
      continue;
    }
    const to = spec.keys[k];
    if (!to) {
      x.c.skip(`${at}.${k}`, `not a ${varName} setting of the original osconfig role`);
      continue;
    }
    if (hasTemplate(val))
      return void x.c.skip(at, `${k} ${show(val)} is a Jinja expression ib-native cannot evaluate`);
    if (to === 'mode') {
      const m = modeOf(val);
      if ('problem' in m) return void x.c.skip(`${at}.${k}`, m.problem);
      out.mode = m.mode;
    } else if (to === 'passwordHash') {
      if (val === '') continue;
      if (typeof val !== 'string' || !/^\$[0-9a-z]+\$/.test(val))
        return void x.c.skip(
          `${at}.password`,
          'is not a crypt(3) hash such as $6$...; ib-native never sets a clear password',
        );
      out.passwordHash = val;
    } else out[to] = typeof val === 'number' && to !== 'passwordLock' ? String(val) : val;
  }
  if (varName === 'user_management' && e.password === '' && e.password_lock !== true)
    x.c.skip(
      `${at}.password`,
      'an empty password (login without one) cannot be expressed; ib-native leaves the password alone',
    );
  const ctx = contextsOf(e.run_contexts, x.names, x.scope);
  if ('problem' in ctx) return void x.c.skip(at, ctx.problem);
  if (ctx.contexts) out.contexts = ctx.contexts;
  const problem = problemOf({ [spec.field]: [out] });
  if (problem) return void x.c.skip(at, problem);
  return out;
}

/** The `name` of every entry of a list, imported or not: an entry that could not be imported does not remove the inherited one. */
const namesOf = (v: unknown): string[] =>
  Array.isArray(v) ? v.flatMap((e) => (isObj(e) && e.name !== undefined ? [String(e.name)] : [])) : [];

/** `[{name, value}]` lists (sysctl, grub and kubelet arguments) as pairs; malformed entries are reported. */
function pairs(v: unknown, path: string, c: Collector): [string, unknown][] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    c.skip(path, `${show(v)} is not a list`);
    return [];
  }
  const out: [string, unknown][] = [];
  for (const [i, e] of v.entries()) {
    if (!isObj(e) || typeof e.name !== 'string')
      c.skip(`${path}[${i}]`, `${show(e)} is not a {name, value} entry`);
    else if (hasTemplate(e.value) || hasTemplate(e.name))
      c.skip(`${path}[${i}]`, 'a Jinja expression ib-native cannot evaluate');
    else out.push([e.name, e.value]);
  }
  return out;
}

function mapKernel(v: unknown, inh: Inherited, c: Collector): void {
  if (!isObj(v)) {
    c.skip('kernel', `${show(v)} is not a mapping`);
    return;
  }
  unknownKeys(v, ['modules'], 'kernel', c, 'not read by the original osconfig role');
  const m = isObj(v.modules) ? v.modules : {};
  unknownKeys(m, ['load', 'blacklist'], 'kernel.modules', c, 'not read by the original osconfig role');
  if (m.load !== undefined) {
    const load: Vars[] = [];
    for (const [i, e] of (Array.isArray(m.load) ? m.load : []).entries()) {
      const at = `kernel.modules.load[${i}]`;
      if (!isObj(e) || typeof e.name !== 'string') {
        c.skip(at, `${show(e)} is not a {name, args} entry`);
        continue;
      }
      const mod: Vars = { name: e.name };
      const args = pairs(e.args, `${at}.args`, c);
      if (args.length) mod.args = Object.fromEntries(args.map(([k, a]) => [k, numberish(a)]));
      const problem = problemOf({ kernel: { modules: { load: [mod] } } });
      if (problem) c.skip(at, problem);
      else load.push(mod);
    }
    const ch = keyedChange(load, inh.kernel?.modules?.load as Vars[] | undefined, 'name', namesOf(m.load));
    if (ch.add.length) c.set('kernel.modules.load', ch.add);
    c.remove('kernel.modules.load', ch.remove);
  }
  if (m.blacklist !== undefined) {
    const names = (Array.isArray(m.blacklist) ? m.blacklist : []).map((e) => (isObj(e) ? e.name : e));
    const list = strings(names, 'kernel.modules.blacklist', c, (n) => ({
      kernel: { modules: { blacklist: [n] } },
    }));
    const ch = listChange(list, inh.kernel?.modules?.blacklist);
    if (ch.add.length) c.set('kernel.modules.blacklist', ch.add);
    c.remove('kernel.modules.blacklist', ch.remove);
  }
}

/** What a bundle's grub variables fall back to: the rootfs file's (`grub`, append) and the role default's command line. */
interface GrubFallback {
  cmdline?: string[];
  append?: string[];
}

/** The rootfs file's grub command line and append, for a bundle that sets only one of them (pure; problems were reported for the rootfs). */
function rootfsGrub(rootfs: MapOptions['rootfs']): GrubFallback {
  const v = isObj(rootfs?.vars) ? rootfs.vars : {};
  const quiet = new Collector();
  const g = isObj(v.grub) ? v.grub : {};
  return {
    cmdline:
      g.GRUB_CMDLINE_LINUX_DEFAULT !== undefined
        ? tokens(g.GRUB_CMDLINE_LINUX_DEFAULT, '', quiet)
        : rootfs?.inherited?.grub?.cmdline,
    append:
      v.grub_cmdline_linux_default_append !== undefined
        ? tokens(v.grub_cmdline_linux_default_append, '', quiet)
        : undefined,
  };
}

function mapGrub(v: Vars, inh: Inherited, c: Collector, fallback?: GrubFallback): void {
  const g = v.grub;
  let cmdline: string[] | undefined;
  if (g !== undefined) {
    if (!isObj(g)) {
      c.skip('grub', `${show(g)} is not a mapping`);
      return;
    }
    unknownKeys(
      g,
      ['GRUB_TIMEOUT', 'GRUB_CMDLINE_LINUX_DEFAULT', 'GRUB_SERIAL_COMMAND'],
      'grub',
      c,
      "not read by image-builder's grub template, which ignored it",
    );
    if (g.GRUB_TIMEOUT !== undefined) {
      const t = Number(g.GRUB_TIMEOUT);
      if (Number.isInteger(t) && t >= 0) c.set('grub.timeout', t);
      else c.skip('grub.GRUB_TIMEOUT', `${show(g.GRUB_TIMEOUT)} is not a number of seconds`);
    }
    if (g.GRUB_CMDLINE_LINUX_DEFAULT !== undefined)
      cmdline = tokens(g.GRUB_CMDLINE_LINUX_DEFAULT, 'grub.GRUB_CMDLINE_LINUX_DEFAULT', c);
    if (g.GRUB_SERIAL_COMMAND !== undefined) {
      // the original's speed value 'ttyS0,115200n8' is not a speed; `base` fixed it to the baud rate, as here
      const args = pairs(g.GRUB_SERIAL_COMMAND, 'grub.GRUB_SERIAL_COMMAND', c).map(([n, a]) => {
        const baud = n === 'speed' ? /^[A-Za-z]+\d*,(\d+)/.exec(String(a))?.[1] : undefined;
        return `--${n}=${baud ?? String(a)}`;
      });
      c.set('grub.serialCommand', ['serial', ...args].join(' '));
    }
  }
  const ownAppend =
    v.grub_cmdline_linux_default_append !== undefined
      ? tokens(v.grub_cmdline_linux_default_append, 'grub_cmdline_linux_default_append', c)
      : undefined;
  if (cmdline === undefined && !ownAppend?.length) return;
  // in a bundle, a variable it does not set keeps the rootfs file's value (the inherited command line holds both)
  const desired = fallback
    ? [...(cmdline ?? fallback.cmdline ?? []), ...(ownAppend ?? fallback.append ?? [])]
    : [...(cmdline ?? inh.grub?.cmdline ?? []), ...(ownAppend ?? [])];
  const ch = listChange(desired, inh.grub?.cmdline, 'cmdline');
  if (ch.add.length) c.set('grub.cmdline', ch.add);
  c.remove('grub.cmdline', ch.remove);
}

/** `[{name, value}]` kernel parameters as `name=value` tokens. */
function tokens(v: unknown, path: string, c: Collector): string[] {
  return pairs(v, path, c).flatMap(([n, a], i) => {
    const t = a === undefined || a === null ? n : `${n}=${a}`;
    const problem = problemOf({ grub: { cmdline: [t] } });
    if (!problem) return [t];
    c.skip(`${path}[${i}]`, `${show(t)}: ${problem}`);
    return [];
  });
}

function mapCommonOnly(v: Vars, inh: Inherited, c: Collector): void {
  if (v.kernel !== undefined) mapKernel(v.kernel, inh, c);
  if (v.banners !== undefined) {
    const b = isObj(v.banners) ? v.banners : {};
    unknownKeys(b, ['login', 'motd'], 'banners', c, 'not read by the original osconfig role');
    if (typeof b.login === 'string') c.set('banners.issue', b.login);
    if (typeof b.motd === 'string') c.set('banners.motd', b.motd);
  }
  if (v.kdump_tools !== undefined) {
    const k = isObj(v.kdump_tools) ? v.kdump_tools : {};
    unknownKeys(k, ['crashkernel'], 'kdump_tools', c, 'not read by the original osconfig role');
    if (k.crashkernel !== undefined) c.set('kdump.crashkernel', String(k.crashkernel));
  }
  if (v.kubelet !== undefined) {
    const k = isObj(v.kubelet) ? v.kubelet : {};
    unknownKeys(k, ['extra_systemd_args'], 'kubelet', c, 'not read by the original osconfig role');
    const args = pairs(k.extra_systemd_args, 'kubelet.extra_systemd_args', c).filter(([n, a]) => {
      const problem = problemOf({ kubelet: { extraArgs: { [n]: String(a) } } });
      if (problem) c.skip(`kubelet.extra_systemd_args[name=${n}]`, problem);
      return !problem;
    });
    if (!inh.kubelet) {
      if (args.length)
        c.skip(
          'kubelet.extra_systemd_args',
          'the inherited profile has no kubelet (use --base worker or control-plane)',
        );
    } else {
      const ch = mapChange(Object.fromEntries(args.map(([n, a]) => [n, String(a)])), inh.kubelet.extraArgs);
      if (Object.keys(ch.add).length) c.set('kubelet.extraArgs', ch.add);
      c.remove('kubelet.extraArgs', ch.remove);
    }
  }
  if (v.limits !== undefined) {
    const limits: Vars[] = [];
    for (const [i, e] of (Array.isArray(v.limits) ? v.limits : []).entries()) {
      if (!isObj(e)) {
        c.skip(`limits[${i}]`, `${show(e)} is not a limit entry`);
        continue;
      }
      const l: Vars = {
        name: e.name,
        domain: e.domain,
        type: e.type,
        item: e.item,
        value: numberish(e.value),
      };
      unknownKeys(e, Object.keys(l), `limits[${i}]`, c, 'not a limits setting');
      const problem = problemOf({ limits: [l] });
      if (problem) c.skip(`limits[${i}]`, problem);
      else limits.push(l);
    }
    const ch = keyedChange(limits, inh.limits as Vars[] | undefined, 'name', namesOf(v.limits));
    if (ch.add.length) c.set('limits', ch.add);
    c.remove('limits', ch.remove);
  }
  if (v.sysctl !== undefined) {
    const entries = pairs(v.sysctl, 'sysctl', c).filter(([n, a]) => {
      const problem = problemOf({ sysctl: { [n]: numberish(a) } });
      if (problem) c.skip(`sysctl[name=${n}]`, problem);
      return !problem;
    });
    const ch = mapChange(
      Object.fromEntries(entries.map(([n, a]) => [n, numberish(a)])),
      inh.sysctl,
      namesOf(v.sysctl),
    );
    if (Object.keys(ch.add).length) c.set('sysctl', ch.add);
    c.remove('sysctl', ch.remove);
  }
  for (const k of ['fetch_from_url', 'fetch_from_url_append'])
    for (const [i, e] of (Array.isArray(v[k]) ? (v[k] as unknown[]) : []).entries())
      c.skip(
        `${k}[${i}]`,
        `${isObj(e) ? show(e.url) : show(e)}: ib-native downloads only with a sha256 to check; add it as fetch: [{url, sha256}] by hand`,
      );
}

/** The run-context names an osconfig vars file sets, and its variables with templates resolved (pure). */
function resolvedVars(raw: Vars): { names: ContextNames; v: Vars } {
  const names: ContextNames = {
    common: typeof raw.default_run_context === 'string' ? raw.default_run_context : 'common',
    qcow: typeof raw.qcow_run_context === 'string' ? raw.qcow_run_context : 'qcow',
  };
  const v = resolveTemplates(raw, {
    default_run_context: names.common,
    qcow_run_context: names.qcow,
    ...raw,
  }) as Vars;
  return { names, v };
}

export function mapOsconfigVars(obj: unknown, opts: MapOptions = {}): MapResult {
  const c = new Collector();
  const raw = asMapping(obj, c);
  if (!raw) return c.result();
  const scope = opts.scope ?? 'rootfs';
  const inh = opts.inherited ?? {};
  const { names, v } = resolvedVars(raw);
  unknownKeys(v, OSCONFIG_VARS, '', c, "not a variable of image-builder's osconfig role, which ignores it");
  if (v.rootfs_root !== undefined)
    c.skip('rootfs_root', 'a build-internal path of the original; ib-native keeps its trees in its cache');
  for (const k of ['user_scripts_dir_default', 'user_scripts_dir_qcow'])
    if (v[k] !== undefined)
      c.skip(
        k,
        'a build-internal path of the original; scripts are imported from scripts/common and scripts/qcow',
      );

  if (scope === 'qcow-bundle') {
    for (const k of COMMON_ONLY)
      if (v[k] !== undefined)
        c.skip(
          k,
          "image-builder ignores it in a QCOW bundle's osconfig-vars (its task runs only while the shared rootfs is built); set it in rootfs/osconfig-vars.yaml",
        );
  } else mapCommonOnly(v, inh, c);
  mapGrub(v, inh, c, scope === 'qcow-bundle' && opts.rootfs ? rootfsGrub(opts.rootfs) : undefined);

  const x: Ctx = { c, names, scope, image: opts.image };
  const replaced = scope === 'qcow-bundle' ? rootfsQcowEntries(opts.rootfs) : {};
  for (const [varName, spec] of Object.entries(LISTS)) {
    const list = v[varName];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      c.skip(varName, `${show(list)} is not a list`);
      continue;
    }
    const entries = list.map((e, i) => mapEntry(spec, varName, e, i, x)).filter((e): e is Vars => !!e);
    const ch = keyedChange(
      entries,
      inh[spec.field as keyof Inherited] as Vars[] | undefined,
      spec.key,
      varName === 'user_scripts' ? [] : namesOf(list),
    );
    if (ch.add.length) c.set(spec.field, ch.add);
    // in the rootfs the list replaces the inherited one
    if (scope === 'rootfs') c.remove(spec.field, ch.remove);
    // a bundle's list replaced the rootfs file's: its qcow entries did not run for this QCOW (the
    // common ones had run in the shared rootfs); one the bundle restates is replaced by the merge
    else {
      const present = new Set(
        ((inh[spec.field as keyof Inherited] as Vars[] | undefined) ?? []).map((e) => String(e[spec.key])),
      );
      const restated = new Set(entries.map((e) => String(e[spec.key])));
      c.remove(
        spec.field,
        (replaced[varName] ?? []).filter((k) => present.has(k) && !restated.has(k)),
      );
    }
  }
  return c.result();
}

/** Keys of the rootfs file's entries that ran only for QCOWs, per list variable (pure). */
function rootfsQcowEntries(rootfs: MapOptions['rootfs']): Record<string, string[]> {
  const raw = isObj(rootfs?.vars) ? rootfs.vars : {};
  const { names, v } = resolvedVars(raw);
  const x: Ctx = { c: new Collector(), names, scope: 'rootfs' };
  return Object.fromEntries(
    Object.entries(LISTS).map(([varName, spec]) => [
      varName,
      (Array.isArray(v[varName]) ? (v[varName] as unknown[]) : [])
        .map((e, i) => mapEntry(spec, varName, e, i, x))
        .filter((e): e is Vars => Array.isArray(e?.contexts) && !e.contexts.includes('common'))
        .map((e) => String(e[spec.key])),
    ]),
  );
}
