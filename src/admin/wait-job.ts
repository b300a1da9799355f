/**
 * Waiting for a job to reach a final state (`conveyor.jobs.wait(id)`, `job.wait()`): woken by this
 * process's events, with a polling fallback for jobs that other processes run.
 * @module
 */
import type { Driver } from '../drivers/driver.ts';
import { ValidationError, WaitTimeoutError, describeValue } from '../errors.ts';
import type { EventHub } from '../events.ts';
import type { JobRow } from '../job/row.ts';
import { FINAL_STATES } from '../job/states.ts';

/** Options of a wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds (WaitTimeoutError). @default no limit */
  timeoutMs?: number;
  /** Stop waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** What {@link waitForJob} needs from its Conveyor. */
export interface WaitHost {
  readonly driver: Pick<Driver, 'jobGet'>;
  readonly events: Pick<EventHub, 'on'>;
}

/** The events after which a job may have reached a final state. */
const WAKE_EVENTS = ['job_done', 'job_failed', 'job_retried', 'job_rescued'] as const;

/**
 * Wait until job `id` is done, failed or cancelled; polls with a backoff from 20 ms to 1 s, woken early
 * by this process's events about the job.
 * @throws ValidationError when the job does not exist or `timeoutMs` is invalid, WaitTimeoutError when
 *   `timeoutMs` passes first
 */
export async function waitForJob(host: WaitHost, id: number, options: WaitOptions = {}): Promise<JobRow> {
  if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== 'number' || !(options.timeoutMs >= 0))) {
    throw new ValidationError(
      `wait(): timeoutMs must be a number of milliseconds >= 0, got ${describeValue(options.timeoutMs)}`,
    );
  }
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let wake: (() => void) | null = null;
  const offs = WAKE_EVENTS.map((e) =>
    host.events.on(e, (p) => {
      if (p.id === id) wake?.();
    }),
  );
  try {
    for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
      const row = await host.driver.jobGet(id);
      if (!row) throw new ValidationError(`job ${id} does not exist`);
      if ((FINAL_STATES as readonly string[]).includes(row.state)) return row;
      if (options.signal?.aborted) throw options.signal.reason;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new WaitTimeoutError(
          `job ${id} did not finish within ${options.timeoutMs} ms (state ${row.state})`,
          id,
          options.timeoutMs!,
          { details: { jobId: id, state: row.state } },
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(delay, left));
        function done() {
          clearTimeout(t);
          wake = null;
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        options.signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    for (const off of offs) off();
  }
}
