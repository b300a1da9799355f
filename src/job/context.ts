/**
 * The object a job method receives first: what it runs on, and the means to report back.
 * @module
 */
import type { Logger } from '../internal/logger.ts';

/** What a job method gets as its first argument. */
export interface JobContext {
  /** Job id (0 when the method is called directly, inline). */
  readonly id: number;
  /** Job uuid ('' inline). */
  readonly uuid: string;
  readonly model: string;
  readonly method: string;
  /** Record ids the job works on (`browse(ids)`). */
  readonly records: readonly unknown[];
  /** This run's number, from 1. */
  readonly attempt: number;
  /** At most this many runs; 0 = infinite. */
  readonly maxRetries: number;
  /** Context captured at enqueue (tz, lang, …), restored while the job runs. */
  readonly context: Readonly<Record<string, unknown>>;
  /** Fires on time limit, cancel or shutdown; pass it to fetch() and friends. */
  readonly signal: AbortSignal;
  /** Report progress: persisted and shown on the dashboard. */
  progress(done: number, total?: number, message?: string): Promise<void>;
  /** The persisted checkpoint: survives retries, so a retried job can resume. */
  readonly checkpoint: {
    get<T = unknown>(): T | undefined;
    set(value: unknown): Promise<void>;
  };
  /** A logger bound to this job. */
  readonly logger: Logger;
}
