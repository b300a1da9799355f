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
  /**
   * The job's own transaction: run `fn` in a transaction on the queue's database that also records this
   * job as done, with `fn`'s value as its result, so the job's writes happen exactly once even if the
   * runner dies right after them. PostgreSQL: `fn` gets a `pg` client inside `BEGIN` and may be async.
   * SQLite: `fn` gets the `DatabaseSync` handle and must be synchronous. Fenced: when the job is no
   * longer held by this run (lease lost, cancelled…) it rolls back and throws `JobLeaseLostError`. Once
   * per run. Outside a runner (direct call, no-delay, `performEnqueuedJobs`) it runs `fn` in a transaction
   * with no job row to complete. See docs/transactions.md.
   * @example await job.transaction(async (client: PoolClient) => client.query('INSERT INTO invoices …'))
   */
  transaction<T, Db = unknown>(fn: (db: Db) => T): Promise<Awaited<T>>;
}
