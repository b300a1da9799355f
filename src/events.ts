/**
 * Typed events. Listeners are isolated: one that throws is logged and never breaks the runner.
 * @module
 */
import { EventEmitter } from 'node:events';
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

/** A typed event hub. */
export class EventHub {
  readonly #emitter = new EventEmitter();
  readonly #logger: Logger;
  constructor(logger: Logger) {
    this.#logger = logger;
    this.#emitter.setMaxListeners(0);
  }
  /** Subscribe; returns a function that unsubscribes. */
  on<K extends ConveyorEventName>(event: K, listener: (payload: ConveyorEvents[K]) => void): () => void {
    const safe = (payload: ConveyorEvents[K]) => {
      try {
        listener(payload);
      } catch (err) {
        this.#logger.error({ event, err: (err as Error).message }, 'event listener threw');
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
