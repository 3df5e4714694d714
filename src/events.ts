import { z } from 'zod';
import { FORMATS } from './profile/formats.ts';

/**
 * The events of a build: one typed union that the pipeline emits and every display subscribes
 * to (the terminal's live list, plain timestamped lines, `--json` newline-delimited JSON, the
 * programmatic API's `onEvent`). Every event names its profile and carries its ISO 8601 time.
 * The zod schemas are the definition; the TypeScript types are inferred from them, and tests
 * and API consumers can check a stream with `parseEvent`.
 */

const base = {
  /** The profile's name (a bundle builds several; displays group by it). */
  profile: z.string(),
  /** When it happened, ISO 8601 UTC. */
  time: z.string(),
};

const stage = z.string().min(1);

const output = z.object({
  format: z.enum(FORMATS),
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

export const eventSchema = z.discriminatedUnion('type', [
  /** After planning: the stages still to come, in order. */
  z.object({
    type: z.literal('planned'),
    ...base,
    distro: z.string(),
    stages: z.array(stage),
  }),
  z.object({ type: z.literal('stage-start'), ...base, stage }),
  z.object({
    type: z.literal('stage-end'),
    ...base,
    stage,
    seconds: z.number().nonnegative(),
    ok: z.boolean(),
    /** Whether the stage's cached entry (rootfs, base squashfs, base disk) was reused. */
    cacheHit: z.boolean().optional(),
  }),
  /**
   * Progress of a long step inside a stage. `fraction` (0..1, never decreasing within a step)
   * is present when the total is known; `done`/`total` count what the tool counts (packages,
   * blocks). Emitted at most every half second per step, and always at completion.
   */
  z.object({
    type: z.literal('progress'),
    ...base,
    stage,
    step: z.string(),
    fraction: z.number().min(0).max(1).optional(),
    done: z.number().nonnegative().optional(),
    total: z.number().nonnegative().optional(),
    /** What done/total count when it is not items: `s` for a wait measured against a timeout. */
    unit: z.literal('s').optional(),
  }),
  /** What the build is doing, in words (`debug` ones only with --verbose). */
  z.object({
    type: z.literal('log'),
    ...base,
    level: z.enum(['info', 'debug']),
    message: z.string(),
    stage: stage.optional(),
  }),
  z.object({ type: z.literal('warning'), ...base, message: z.string(), stage: stage.optional() }),
  /** The last event of a successful build. */
  z.object({
    type: z.literal('result'),
    ...base,
    outputs: z.array(output),
    manifest: z.string(),
    /** The full log of every command and its output, `<output>/<profile>.build.log`. */
    log: z.string().optional(),
    seconds: z.number().nonnegative(),
    stages: z.record(z.number()),
    cacheHits: z.record(z.boolean()),
  }),
  /** The last event of a failed build. */
  z.object({
    type: z.literal('error'),
    ...base,
    /** input: bad flags/profile/host (exit 2); command: a tool failed (3); interrupted (130). */
    kind: z.enum(['input', 'command', 'interrupted', 'boot', 'internal']),
    exitCode: z.number().int(),
    message: z.string(),
    hint: z.string().optional(),
    stage: stage.optional(),
    /** For a failed command: its argv, how it ended and the last lines of its output. */
    command: z.array(z.string()).optional(),
    commandExitCode: z.number().int().optional(),
    signal: z.string().optional(),
    context: z.string().optional(),
    outputTail: z.string().optional(),
    /** The full log (a failed build leaves the output folder untouched: it is in the cache). */
    log: z.string().optional(),
  }),
]);

export type BuildEvent = z.infer<typeof eventSchema>;
export type EventType = BuildEvent['type'];
export type EventOf<T extends EventType> = Extract<BuildEvent, { type: T }>;
/** An event before the reporter stamps it with its profile and time. */
export type EventBody = BuildEvent extends infer E
  ? E extends BuildEvent
    ? Omit<E, 'profile' | 'time'>
    : never
  : never;
export type ResultEvent = EventOf<'result'>;
export type ErrorEvent = EventOf<'error'>;

/** A subscriber. Displays, the JSON writer and API callbacks are all this. */
export type EventSink = (e: BuildEvent) => void;

/** Parse and check one event (a line of `--json` output, decoded). Throws a ZodError on mismatch. */
export function parseEvent(value: unknown): BuildEvent {
  return eventSchema.parse(value);
}

/** The JSON line of an event, as `--json` writes it. */
export function eventLine(e: BuildEvent): string {
  return `${JSON.stringify(e)}\n`;
}
