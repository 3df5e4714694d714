import { type OpBody, ops } from '../ops/types.ts';
import type { ResolvedProfile } from '../profile/resolve.ts';
import { header, withNewline } from './render.ts';
import type { ConfigModule } from './types.ts';

const NAME = 'apparmor';

const enabled = (p: ResolvedProfile) => p.apparmor !== undefined && p.apparmor.enabled !== false;

/** Kernel parameters: AppArmor as the major LSM, or explicitly off when `enabled: false`. */
export function apparmorKernelArgs(p: ResolvedProfile): string[] {
  if (!p.apparmor) return [];
  return enabled(p) ? ['apparmor=1', 'security=apparmor'] : ['apparmor=0'];
}

/** Drop-in that lets apparmor.service run on a live system (ISO). */
export const APPARMOR_LIVE_DROPIN = '/etc/systemd/system/apparmor.service.d/ib-native-live.conf';

/**
 * Debian's and Ubuntu's apparmor.service skip live systems: `ConditionPathExists=!/rofs/etc/apparmor.d`
 * (Ubuntu's casper) and `ConditionPathExists=!/run/live/overlay/work` (live-boot's overlay, so every
 * ISO ib-native makes), so no profile would load there. An empty Condition line resets all of a
 * unit's conditions; the one that matters comes back.
 */
export const APPARMOR_LIVE_DROPIN_CONTENT = `${header('apparmor')}[Unit]
# load AppArmor profiles on the live system too (the unit skips /run/live/overlay/work)
ConditionPathExists=
ConditionSecurity=apparmor
`;

/**
 * AppArmor: the service enabled (on live ISOs too) and each profile written to /etc/apparmor.d, then parsed (not
 * loaded: -Q, no cache: -K) so a profile with a syntax error fails the build, not the boot.
 */
export const apparmorModule: ConfigModule = {
  name: NAME,
  packages: (p) => (enabled(p) ? ['apparmor'] : []),
  plan(p) {
    if (!enabled(p)) return [];
    const service = [
      ...ops(NAME, undefined, { kind: 'unit', name: 'apparmor.service', action: 'enable' }),
      ...ops(NAME, ['live'], {
        kind: 'writeFile',
        path: APPARMOR_LIVE_DROPIN,
        mode: '0644',
        content: APPARMOR_LIVE_DROPIN_CONTENT,
      }),
    ];
    const profiles = (p.apparmor?.profiles ?? []).flatMap((prof) => {
      const path = `/etc/apparmor.d/${prof.name}`;
      const bodies: OpBody[] = [
        { kind: 'writeFile', path, mode: '0644', content: withNewline(prof.content) },
        {
          kind: 'run',
          argv: ['apparmor_parser', '-Q', '-K', path],
          description: `check AppArmor profile ${prof.name} parses`,
        },
      ];
      return ops(NAME, prof.contexts, ...bodies);
    });
    return [...service, ...profiles];
  },
  validate(p) {
    if (p.apparmor?.enabled === false && p.apparmor.profiles?.length)
      return [
        {
          path: 'apparmor.profiles',
          message:
            'apparmor.enabled is false, so these profiles would never load; enable AppArmor or drop them',
        },
      ];
    return [];
  },
};
