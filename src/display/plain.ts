import { formatBytes } from '../doctor.ts';
import type { BuildEvent, EventSink } from '../events.ts';
import { formatSeconds, percent, plainText } from './text.ts';

/**
 * The display for pipes, log files and CI: one timestamped line per stage start and end, per
 * message, and per ~10 % of a long step. No control character ever (colours, cursor moves,
 * carriage returns): what a CI log viewer or `grep` sees is what was written.
 */
export class PlainFormatter {
  /** Last tenth printed per profile/stage/step. */
  private tenths = new Map<string, number>();

  constructor(private readonly o: { verbose?: boolean } = {}) {}

  /** The lines for one event (often none), each ending with a newline. */
  format(e: BuildEvent): string {
    const stamp = `${e.time.slice(0, 19)}Z [${e.profile}]`;
    const lines = this.text(e);
    return lines
      .flatMap((l) => plainText(l).split('\n'))
      .map((l) => `${stamp} ${l}\n`)
      .join('');
  }

  private text(e: BuildEvent): string[] {
    switch (e.type) {
      case 'planned':
        return [`plan: ${e.distro}; stages ${e.stages.join(', ')}`];
      case 'stage-start':
        this.forgetStage(e.profile, e.stage);
        return [`${e.stage}: started`];
      case 'stage-end':
        return [
          `${e.stage}: ${e.ok ? 'done' : 'failed'} in ${formatSeconds(e.seconds)}${e.cacheHit ? ' (cache hit)' : ''}`,
        ];
      case 'progress': {
        if (e.fraction === undefined) return [];
        const key = `${e.profile}\0${e.stage}\0${e.step}`;
        const tenth = Math.floor(e.fraction * 10);
        const last = this.tenths.get(key);
        if (last !== undefined && tenth <= last) return [];
        if (last === undefined && tenth === 0 && e.fraction < 1) {
          // the first report of a step: say it started, then every tenth
          this.tenths.set(key, 0);
          return [];
        }
        this.tenths.set(key, tenth);
        const count =
          e.unit === 's'
            ? ` (${Math.round(e.done ?? 0)}s of ${Math.round(e.total ?? 0)}s)`
            : e.done !== undefined && e.total !== undefined
              ? ` (${e.done}/${e.total})`
              : '';
        return [`${e.stage}: ${e.step} ${percent(e.fraction)}${count}`];
      }
      case 'log':
        return e.level === 'info' ? [e.message] : this.o.verbose ? [`  ${e.message}`] : [];
      case 'warning':
        return [`warning: ${e.message}`];
      case 'result':
        return [
          `built in ${formatSeconds(e.seconds)}`,
          ...e.outputs.map((o) => `wrote ${o.path} (${formatBytes(o.bytes)}, sha256 ${o.sha256})`),
          `manifest ${e.manifest}`,
          ...(e.log ? [`log ${e.log}`] : []),
        ];
      case 'error':
        return [`failed${e.stage ? ` in stage ${e.stage}` : ''} (exit code ${e.exitCode})`];
    }
  }

  private forgetStage(profile: string, stage: string): void {
    const prefix = `${profile}\0${stage}\0`;
    for (const k of [...this.tenths.keys()]) if (k.startsWith(prefix)) this.tenths.delete(k);
  }
}

export function plainDisplay(write: (text: string) => void, o: { verbose?: boolean } = {}): EventSink {
  const f = new PlainFormatter(o);
  return (e) => {
    const text = f.format(e);
    if (text) write(text);
  };
}
