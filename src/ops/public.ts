import { sha256Text } from '../sys/files.ts';
import type { Op } from './types.ts';

/** An operation as `plan --json` prints it (pure): file contents as sha256, stdin left out. */
export function publicOp(op: Op): Record<string, unknown> {
  if (op.kind === 'writeFile') {
    const { content, ...rest } = op;
    return { ...rest, contentSha256: sha256Text(content), contentBytes: Buffer.byteLength(content) };
  }
  if (op.kind === 'run' && op.stdin !== undefined) {
    const { stdin, ...rest } = op;
    return { ...rest, stdinBytes: Buffer.byteLength(stdin) };
  }
  return { ...op };
}
