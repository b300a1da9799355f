/**
 * Where code running inside a job finds that job (AsyncLocalStorage), for the timeout toolkit,
 * progress trackers and `conveyor.context.get()`.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TimeoutLogEntryInput } from './timeout-log-entry.ts';

/** What the toolkit may ask of the job it runs in. */
export interface CurrentJob {
  /** Job id. */
  readonly id: number;
  /** Model name. */
  readonly model: string;
  /** Method name. */
  readonly method: string;
  /** Fires on time limit, cancel or shutdown. */
  readonly signal: AbortSignal;
  /** Report progress (persisted, shown on the dashboard). */
  progress(done: number, total?: number, message?: string): Promise<void>;
  /** The persisted checkpoint (survives retries). */
  readonly checkpoint: {
    get<T = unknown>(): T | undefined;
    set(value: unknown): Promise<void>;
  };
  /** Write a row to the timeout log of the Conveyor running this job. */
  recordTimeout(entry: TimeoutLogEntryInput): Promise<void>;
}

const storage = new AsyncLocalStorage<CurrentJob>();

/** The job whose code is running now, if any. */
export function currentJob(): CurrentJob | undefined {
  return storage.getStore();
}

/** Run `fn` with `job` as the current job. */
export function runAsJob<T>(job: CurrentJob, fn: () => T): T {
  return storage.run(job, fn);
}
