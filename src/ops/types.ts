import type { Context } from '../profile/schema.ts';

/**
 * Operations: what configuration modules ask for. Modules only return these (pure);
 * `applyOps` in ./apply.ts is the one place that performs them on a root filesystem.
 * Paths are absolute paths inside the image.
 */
export type OpBody =
  | { kind: 'writeFile'; path: string; content: string; mode?: string; owner?: string; group?: string }
  | { kind: 'mkdir'; path: string; mode?: string; owner?: string; group?: string }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'remove'; path: string }
  /** Change mode/owner of an existing path (fails if missing). */
  | { kind: 'chmod'; path: string; mode?: string; owner?: string; group?: string }
  | { kind: 'unit'; name: string; action: 'enable' | 'disable' | 'mask' | 'unmask' }
  /**
   * Run a command inside the image (chroot). `stdin` is written to its standard input and is
   * never logged or printed (secrets such as password hashes go there, never into argv).
   */
  | { kind: 'run'; argv: string[]; description: string; stdin?: string }
  /** Copy a file or folder from the host into the image. */
  | { kind: 'copyIn'; source: string; path: string; mode?: string }
  /** Download a URL into the image, verified against sha256. */
  | { kind: 'fetch'; url: string; sha256: string; path: string };

export type Op = OpBody & {
  /** Module that asked for it. */
  module: string;
  /** Where it applies; `common` means every image. */
  contexts: readonly Context[];
};

export type OpKind = Op['kind'];

/** Attach module name and contexts to bodies. */
export function ops(module: string, contexts: readonly Context[] | undefined, ...bodies: OpBody[]): Op[] {
  const ctx = contexts && contexts.length > 0 ? contexts : (['common'] as const);
  return bodies.map((b) => ({ ...b, module, contexts: ctx }));
}

export function appliesTo(op: Op, context: Context): boolean {
  return op.contexts.includes(context);
}
