import { SESSION_MOUNTS, sessionMountOf } from '../sys/in-root.ts';
import type { Issue } from './render.ts';

/**
 * Issues for profile paths at or under /dev, /proc, /sys or /run: during the build those are the
 * session's own file systems (not the image), and at boot the system makes them; nothing a
 * profile writes there would ship. `field` names the list (`files`, `directories` ...).
 */
export function sessionPathIssues(field: string, entries: readonly { path: string }[]): Issue[] {
  return entries.flatMap((e, i) => {
    const mount = sessionMountOf(e.path);
    return mount
      ? [
          {
            path: `${field}[${i}].path`,
            message: `${e.path} is under ${mount}, which the build and the booted system mount themselves (${SESSION_MOUNTS.join(', ')}); name a path in the image`,
          },
        ]
      : [];
  });
}
