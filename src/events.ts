/**
 * Typed events. Listeners are isolated: one that throws is logged and never breaks the runner.
 * @module
 */
import { EventEmitter } from 'node:events';
import { ValidationError, describeValue } from './errors.ts';
import type { Logger } from './internal/logger.ts';
import type { JobState } from './job/states.ts';

/** Every event and its payload. */
export interface ConveyorEvents {
  job_enqueued: { id: number; uuid: string; model: string; method: string; channel: string; existing: boolean };
  job_started: { id: number; model: string; method: string; channel: string; attempt: number; runnerId: string };
  job_done: { id: number; model: string; method: string; channel: string; attempt: number; durationMs: number };
  job_retried: { id: number; model: string; method: string; attempt: number; eta: number; error: string };
  job_failed: { id: number; model: string; method: string; attempt: number; error: string };
  job_timed_out: { id: number; model: string; method: string; attempt: number; limitMs: number; kind: string };
  /** A stale write: the job was rescued, requeued or cancelled meanwhile; nothing was changed. */
  job_race: { id: number; attempt: number; runnerId: string; command: string };
  job_rescued: { id: number; runnerId: string | null; state: JobState; wasStarted: boolean };
  job_cancelled_running: { id: number; runnerId: string };
  runner_started: { runnerId: string; workers: number };
  runner_stopped: { runnerId: string };
  runner_error: { runnerId: string; error: Error; operation: string };
  /** A runner applied a change of the channels paused at runtime; `paused` lists them all now. */
  runner_channels_paused: { runnerId: string; paused: string[] };
}

/** An event name. */
export type ConveyorEventName = keyof ConveyorEvents;

/** The job lifecycle events that runners publish to other processes ({@link EventHub.subscribeRemote}). */
export const REMOTE_EVENT_NAMES = ['job_done', 'job_failed', 'job_retried', 'job_timed_out'] as const;

/** A job lifecycle event that runners publish to other processes. */
export type RemoteEventName = (typeof REMOTE_EVENT_NAMES)[number];

/** An event received by {@link EventHub.subscribeRemote}: its name, the runner that sent it, and the in-process payload. */
export type RemoteEvent = {
  [K in RemoteEventName]: { event: K; runnerId: string } & ConveyorEvents[K];
}[RemoteEventName];

/** Options of {@link EventHub.subscribeRemote}. */
export interface RemoteSubscribeOptions {
  /**
   * Called when the listening connection was lost and is back: events sent meanwhile were not received
   * (re-read what matters with `conveyor.jobs.list()`).
   */
  onGap?: () => void;
}

/** A live subscription to the events of every process; `close()` ends it. */
export interface RemoteSubscription {
  /** Stop listening (closes the listening connection). */
  close(): Promise<void>;
}

/** Where remote events come from: the storage driver (LISTEN on PostgreSQL, an in-process emitter on SQLite). */
export interface RemoteEventSource {
  listenEvents(onPayload: (payload: string) => void, onGap?: () => void): Promise<{ close(): Promise<void> }>;
}

/** Longest error message carried by a published event (characters); longer ones are cut. */
export const REMOTE_ERROR_MAX = 1000;
/** Largest payload of one published message, in bytes (PostgreSQL's NOTIFY takes less than 8000). */
export const REMOTE_PAYLOAD_MAX = 7900;

/**
 * @internal Pack events into as few JSON payloads as fit under {@link REMOTE_PAYLOAD_MAX} bytes each
 * (one per completion batch, split when too big). Error messages are cut to {@link REMOTE_ERROR_MAX}.
 */
export function packRemoteEvents(events: readonly RemoteEvent[]): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const ev of events) {
    const e =
      'error' in ev && ev.error.length > REMOTE_ERROR_MAX
        ? { ...ev, error: ev.error.slice(0, REMOTE_ERROR_MAX) + '…' }
        : ev;
    const json = JSON.stringify(e);
    const bytes = Buffer.byteLength(json) + 1;
    if (parts.length && size + bytes > REMOTE_PAYLOAD_MAX) {
      out.push(`[${parts.join(',')}]`);
      parts = [];
      size = 2;
    }
    parts.push(json);
    size += bytes;
  }
  if (parts.length) out.push(`[${parts.join(',')}]`);
  return out;
}

/** @internal The events of a payload made by {@link packRemoteEvents} (malformed payloads give none). */
export function unpackRemoteEvents(payload: string): RemoteEvent[] {
  try {
    const v: unknown = JSON.parse(payload);
    return Array.isArray(v)
      ? v.filter((e): e is RemoteEvent => !!e && typeof e === 'object' && typeof (e as RemoteEvent).event === 'string')
      : [];
  } catch {
    return [];
  }
}

/** A typed event hub. */
export class EventHub {
  readonly #emitter = new EventEmitter();
  readonly #logger: Logger;
  readonly #remote: RemoteEventSource | null;
  constructor(logger: Logger, remote: RemoteEventSource | null = null) {
    this.#logger = logger;
    this.#remote = remote;
    this.#emitter.setMaxListeners(0);
  }

  /**
   * Receive job lifecycle events (`job_done`, `job_failed`, `job_retried`, `job_timed_out`) from the
   * runners of every process that uses this database, as BullMQ's QueueEvents does. On PostgreSQL they
   * travel by LISTEN/NOTIFY (a dedicated connection, reconnected with backoff; `onGap` tells you when
   * events may have been missed). On SQLite they reach the subscribers of this process only. Runners
   * publish only while some subscriber exists (they look at every heartbeat, see docs/observability.md).
   * Delivery is at most once: use it for dashboards, logs and notifications, not as the source of truth.
   * @throws ValidationError on an unknown event name or a listener that is not a function
   * @example const sub = await conveyor.events.subscribeRemote(['job_failed'], (ev) => alert(ev.id, ev.error)); … await sub.close();
   */
  async subscribeRemote(
    events: readonly RemoteEventName[],
    listener: (event: RemoteEvent) => void,
    options: RemoteSubscribeOptions = {},
  ): Promise<RemoteSubscription> {
    if (!Array.isArray(events) || events.length === 0)
      throw new ValidationError(
        `subscribeRemote(): events must be a non-empty array of ${REMOTE_EVENT_NAMES.join(', ')}, got ${describeValue(events)}`,
      );
    for (const e of events) {
      if (!(REMOTE_EVENT_NAMES as readonly string[]).includes(e))
        throw new ValidationError(
          `subscribeRemote(): unknown event ${describeValue(e)} (expected ${REMOTE_EVENT_NAMES.join(', ')})`,
        );
    }
    if (typeof listener !== 'function')
      throw new ValidationError(`subscribeRemote(): the listener must be a function, got ${describeValue(listener)}`);
    if (options === null || typeof options !== 'object')
      throw new ValidationError(`subscribeRemote(): options must be an object, got ${describeValue(options)}`);
    for (const k of Object.keys(options))
      if (k !== 'onGap') throw new ValidationError(`subscribeRemote(): unknown option '${k}'`);
    if (!this.#remote) throw new ValidationError('subscribeRemote(): this event hub has no storage to listen on');
    const wanted = new Set<string>(events);
    const onGap = options.onGap;
    return this.#remote.listenEvents(
      (payload) => {
        for (const ev of unpackRemoteEvents(payload)) {
          if (!wanted.has(ev.event)) continue;
          try {
            listener(ev);
          } catch (err) {
            this.#logger.error({ event: ev.event, err }, 'remote event listener threw');
          }
        }
      },
      onGap &&
        (() => {
          try {
            onGap();
          } catch (err) {
            this.#logger.error({ err }, 'remote event onGap threw');
          }
        }),
    );
  }
  /** Subscribe; returns a function that unsubscribes. */
  on<K extends ConveyorEventName>(event: K, listener: (payload: ConveyorEvents[K]) => void): () => void {
    const safe = (payload: ConveyorEvents[K]) => {
      try {
        listener(payload);
      } catch (err) {
        this.#logger.error({ event, err }, 'event listener threw');
      }
    };
    this.#emitter.on(event, safe);
    return () => this.#emitter.off(event, safe);
  }
  /** Emit an event. */
  emit<K extends ConveyorEventName>(event: K, payload: ConveyorEvents[K]): void {
    this.#emitter.emit(event, payload);
  }
  /** Whether anyone listens to `event`. */
  has(event: ConveyorEventName): boolean {
    return this.#emitter.listenerCount(event) > 0;
  }
}
