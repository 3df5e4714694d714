import type { Op } from '../ops/types.ts';
import type { Issue } from './render.ts';

/**
 * What an op says about the final image: a key (a path, or a unit's state) and the value it leaves
 * there. Two ops that leave different values at the same key, in a context both apply to, conflict.
 */
interface Claim {
  key: string;
  value: string;
  /** Removing is compatible with a write by the same module (a temporary file, or a reset before a write). */
  absent: boolean;
  /** How a message describes the op, e.g. "writes it". */
  what: string;
}

const json = (...v: unknown[]) => JSON.stringify(v);

function claims(op: Op): Claim[] {
  const claim = (key: string, value: string, what: string, absent = false): Claim => ({
    key,
    value,
    what,
    absent,
  });
  switch (op.kind) {
    case 'writeFile':
      return [claim(op.path, json('file', op.content, op.mode, op.owner, op.group), 'writes it')];
    case 'mkdir':
      return [claim(op.path, json('dir', op.mode, op.owner, op.group), 'makes it a directory')];
    case 'symlink':
      return [claim(op.path, json('link', op.target), `links it to ${op.target}`)];
    case 'copyIn':
      return [claim(op.path, json('copy', op.source, op.mode), `copies ${op.source} to it`)];
    case 'fetch':
      return [claim(op.path, json('fetch', op.url, op.sha256), `downloads ${op.url} to it`)];
    case 'remove':
      return [claim(op.path, json('absent'), 'removes it', true)];
    case 'chmod':
      return [
        claim(
          `mode of ${op.path}`,
          json(op.mode, op.owner, op.group),
          `sets it to ${[op.mode, op.owner, op.group].filter(Boolean).join(' ')}`,
        ),
      ];
    case 'unit':
      if (op.action === 'enable' || op.action === 'disable')
        return [claim(`unit ${op.name}`, op.action, `${op.action}s it`)];
      return [
        claim(`unit ${op.name} masking`, op.action, `${op.action}s it`),
        ...(op.action === 'mask'
          ? [
              claim(
                `/etc/systemd/system/${op.name}`,
                json('link', '/dev/null'),
                `masks ${op.name} (a link to /dev/null)`,
              ),
            ]
          : []),
      ];
    case 'run':
      return [];
  }
}

/** Contexts two ops share (literally: a `qcow2` op overrides a `common` one by design, in the QCOW2 image only). */
const sharedContexts = (a: Op, b: Op) => a.contexts.filter((c) => b.contexts.includes(c));

/** Every pair of ops that disagree about the same path or unit, naming both modules. */
export function findConflicts(all: readonly Op[]): Issue[] {
  const seen = new Map<string, { op: Op; claim: Claim }[]>();
  const issues = new Map<string, Issue>();
  for (const op of all)
    for (const claim of claims(op)) {
      const earlier = seen.get(claim.key) ?? [];
      for (const prev of earlier) {
        const shared = sharedContexts(prev.op, op);
        if (shared.length === 0 || prev.claim.value === claim.value) continue;
        const sameModule = prev.op.module === op.module;
        if (sameModule && (prev.claim.absent || claim.absent)) continue;
        const second = sameModule
          ? `then ${claim.what}`
          : `but ${op.module} ${claim.what === prev.claim.what ? `${claim.what} differently` : claim.what}`;
        const message = `${prev.op.module} ${prev.claim.what}, ${second} (context ${shared.join(', ')})`;
        issues.set(`${claim.key}\n${message}`, { path: claim.key, message });
      }
      seen.set(claim.key, [...earlier, { op, claim }]);
    }
  return [...issues.values()];
}

/** Packages deduplicated by name; a pinned request (name=version) wins over an unpinned one, two different pins are an issue. */
export function mergePackages(requests: readonly string[]): { packages: string[]; issues: Issue[] } {
  const byName = new Map<string, string>();
  const issues: Issue[] = [];
  for (const spec of requests) {
    const name = spec.split('=')[0]!;
    const prev = byName.get(name);
    if (prev === undefined || (!prev.includes('=') && spec.includes('='))) byName.set(name, spec);
    else if (spec.includes('=') && prev !== spec)
      issues.push({
        path: 'packages',
        message: `${name} is pinned both as ${prev} and as ${spec}; pin one version`,
      });
  }
  return { packages: [...byName.values()], issues };
}
