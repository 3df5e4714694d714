import { styleText } from 'node:util';
import { createLogUpdate } from 'log-update';
import { formatBytes } from '../doctor.ts';
import type { BuildEvent, EventOf, EventSink } from '../events.ts';
import { bar, etaSeconds, fit, formatSeconds, percent, plainText } from './text.ts';

/**
 * The display for a terminal: a live list of each profile's stages with their elapsed time,
 * and under the running stage what it is doing and a progress bar with an estimate for long
 * steps. `TerminalState` folds events into what is shown and `renderFrame` draws it (both pure);
 * `terminalDisplay` redraws it in place with log-update.
 */

type Status = 'pending' | 'running' | 'done' | 'failed';

interface StepView {
  step: string;
  fraction?: number;
  done?: number;
  total?: number;
  unit?: 's';
  first?: { at: number; fraction: number };
  /** When it was last reported (a finished step is shown a moment, then the stage's activity). */
  at: number;
}

interface StageView {
  name: string;
  status: Status;
  startedAt?: number;
  seconds?: number;
  cacheHit?: boolean;
  activity?: string;
  step?: StepView;
}

interface ProfileView {
  name: string;
  distro?: string;
  stages: StageView[];
  result?: EventOf<'result'>;
  failed?: boolean;
}

export class TerminalState {
  readonly profiles: ProfileView[] = [];

  private profile(name: string): ProfileView {
    let p = this.profiles.find((x) => x.name === name);
    if (!p) {
      p = { name, stages: [] };
      this.profiles.push(p);
    }
    return p;
  }

  private stage(p: ProfileView, name: string): StageView {
    let s = p.stages.find((x) => x.name === name);
    if (!s) {
      s = { name, status: 'pending' };
      p.stages.push(s);
    }
    return s;
  }

  forget(profile: string): void {
    const i = this.profiles.findIndex((p) => p.name === profile);
    if (i >= 0) this.profiles.splice(i, 1);
  }

  /** Fold one event in; `at` is when it arrived (ms). */
  apply(e: BuildEvent, at: number): void {
    const p = this.profile(e.profile);
    switch (e.type) {
      case 'planned':
        p.distro = e.distro;
        for (const s of e.stages) this.stage(p, s);
        return;
      case 'stage-start': {
        const s = this.stage(p, e.stage);
        Object.assign(s, { status: 'running', startedAt: at, activity: undefined, step: undefined });
        return;
      }
      case 'stage-end': {
        const s = this.stage(p, e.stage);
        Object.assign(s, { status: e.ok ? 'done' : 'failed', seconds: e.seconds, cacheHit: e.cacheHit });
        s.step = undefined;
        s.activity = undefined;
        return;
      }
      case 'progress': {
        const s = this.stage(p, e.stage);
        const step: StepView =
          s.step?.step === e.step
            ? s.step
            : {
                step: e.step,
                at,
                ...(e.fraction !== undefined ? { first: { at, fraction: e.fraction } } : {}),
              };
        Object.assign(step, { fraction: e.fraction, done: e.done, total: e.total, unit: e.unit, at });
        if (!step.first && e.fraction !== undefined) step.first = { at, fraction: e.fraction };
        s.step = step;
        return;
      }
      case 'log':
        if (e.level === 'info' && e.stage) this.stage(p, e.stage).activity = e.message;
        return;
      case 'result':
        p.result = e;
        return;
      case 'error':
        p.failed = true;
        return;
      case 'warning':
        return;
    }
  }
}

export interface FrameOptions {
  width: number;
  /** Index into the spinner's frames. */
  tick: number;
  color: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 24;
const FINISHED_SHOWN_MS = 1500;

/** The live frame (pure): one block per profile. */
export function renderFrame(state: TerminalState, now: number, o: FrameOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    o.color ? styleText(style, text) : text;
  const out: string[] = [];
  for (const p of state.profiles) {
    out.push(paint('bold', fit(`${p.name}${p.distro ? ` (${p.distro})` : ''}`, o.width)));
    for (const s of p.stages) {
      const icon =
        s.status === 'done'
          ? paint('green', '✔')
          : s.status === 'failed'
            ? paint('red', '✖')
            : s.status === 'running'
              ? paint('cyan', SPINNER[o.tick % SPINNER.length]!)
              : paint('dim', '·');
      const seconds =
        s.status === 'running' && s.startedAt !== undefined ? (now - s.startedAt) / 1000 : s.seconds;
      const time = seconds === undefined ? '' : formatSeconds(seconds);
      const note = s.status === 'running' ? (s.activity ?? '') : s.cacheHit ? 'cache hit' : '';
      const head = ` ${icon} ${s.name.padEnd(10)} ${time.padStart(7)}`.trimEnd();
      const room = o.width - 23;
      out.push(note && room > 10 ? `${head}  ${paint('dim', fit(plainText(note), room))}` : head);
      const step = s.step;
      if (s.status === 'running' && step && !(step.fraction === 1 && now - step.at > FINISHED_SHOWN_MS))
        out.push(renderStep(step, now, o, paint));
    }
  }
  return out.join('\n');
}

function renderStep(
  step: StepView,
  now: number,
  o: FrameOptions,
  paint: (style: Parameters<typeof styleText>[0], text: string) => string,
): string {
  const labelWidth = Math.max(10, Math.min(26, o.width - 50));
  const label = `     ${fit(step.step, labelWidth).padEnd(labelWidth)} `;
  if (step.fraction === undefined) {
    const count = step.done === undefined ? '' : `${step.done}${step.total ? `/${step.total}` : ''}`;
    return fit(`${label}${count}`, o.width);
  }
  let tail: string;
  if (step.unit === 's') tail = `${Math.round(step.done ?? 0)}s / ${Math.round(step.total ?? 0)}s`;
  else {
    const eta = step.first ? etaSeconds(step.first, now, step.fraction) : undefined;
    tail = eta === undefined ? '' : `ETA ${formatSeconds(eta)}`;
  }
  const barWidth = Math.max(8, Math.min(BAR_WIDTH, o.width - label.length - 20));
  const pct = percent(step.fraction).padStart(4);
  // the estimate goes first when the line would not fit
  const fits = label.length + barWidth + pct.length + tail.length + 3 <= o.width;
  return `${label}${paint('cyan', bar(step.fraction, barWidth))} ${pct}${fits && tail ? `  ${tail}` : ''}`;
}

/** The lines printed once a profile is built (pure). */
export function renderSummary(r: EventOf<'result'>, color: boolean): string {
  const ok = color ? styleText('green', '✔') : '✔';
  return [
    `${ok} ${r.profile} built in ${formatSeconds(r.seconds)}`,
    ...r.outputs.map((o) => `  ${o.path}  ${formatBytes(o.bytes)}`),
    `  ${r.manifest}`,
    ...(r.log ? [`  log: ${r.log}`] : []),
  ].join('\n');
}

export interface TerminalDisplay {
  sink: EventSink;
  /** Stop redrawing and leave the last frame on the screen. */
  close(): void;
}

/** The live display on a TTY stream (stderr). */
export function terminalDisplay(
  stream: NodeJS.WriteStream,
  o: { verbose?: boolean; intervalMs?: number } = {},
): TerminalDisplay {
  const draw = createLogUpdate(stream, { showCursor: false });
  const color = stream.hasColors?.() ?? false;
  const state = new TerminalState();
  let tick = 0;
  let closed = false;
  const render = () => {
    if (state.profiles.length)
      draw(renderFrame(state, Date.now(), { width: stream.columns || 100, tick, color }));
  };
  /** Lines that stay: printed above the live frame. */
  const persist = (text: string) => {
    draw.clear();
    stream.write(`${text}\n`);
    render();
  };
  const timer = setInterval(() => {
    tick++;
    render();
  }, o.intervalMs ?? 120);
  timer.unref();
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    render();
    draw.done();
  };
  return {
    close,
    sink(e) {
      if (closed) return;
      state.apply(e, Date.now());
      if (e.type === 'warning')
        persist(`${color ? styleText('yellow', 'warning:') : 'warning:'} ${e.message}`);
      else if (e.type === 'log' && e.level === 'debug' && o.verbose) persist(`  ${e.message}`);
      else if (e.type === 'result') {
        // this profile's block stays on the screen as it is, with the summary under it
        render();
        draw.done();
        stream.write(`${renderSummary(e, color)}\n`);
        state.forget(e.profile);
      } else render();
    },
  };
}
