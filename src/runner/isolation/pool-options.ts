/**
 * The options of the process pool and of one run in it (see process-pool.ts). The runner builds them
 * from its own options in options.ts.
 * @module
 */
import type { JobTransactionJob } from '../../drivers/driver.ts';
import type { Logger } from '../../internal/logger.ts';
import type { JobProgress } from '../../job/row.ts';
import type { TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import type { RetryPattern } from '../../retry/pattern.ts';

/** Limits of the pool's worker processes. 0 or absent = no limit. */
export interface ProcessPoolLimits {
  /** Default real-time limit of a run (ms), when `execute()` gives none. */
  timeRealMs?: number;
  /** CPU time one run may use (ms). */
  timeCpuMs?: number;
  /** RSS (bytes) above which a worker is recycled after its job. */
  memorySoftBytes?: number;
  /** RSS (bytes) above which a worker is killed at once. */
  memoryHardBytes?: number;
  /** Time between SIGTERM and SIGKILL (ms). @default 2000 */
  graceMs?: number;
  /** Jobs a worker runs before it is recycled after its last one (Odoo's `limit_request`). */
  requests?: number;
}

/** Options of {@link ProcessPool}. */
export interface ProcessPoolOptions {
  /** Path or URL of the module whose default export is the Conveyor (or a function/promise giving one). */
  module: string;
  /** Worker processes. */
  size: number;
  limits?: ProcessPoolLimits;
  logger: Logger;
  /** Extra environment of the workers (over `process.env`; `undefined` removes a variable). */
  env?: Record<string, string | undefined>;
  /** Extra node flags of the workers (after the parent's, minus `--test*`, `--watch*`, `--inspect*`). */
  execArgv?: string[];
  /** How often CPU and memory are sampled (ms). @default 250 */
  sampleMs?: number;
  /** How long a worker may take to load the module (ms). @default 60000 */
  startTimeoutMs?: number;
  /** The clock of `startedAt`/`endedAt`. @default Date.now */
  now?: () => number;
}

/** The retry rules of a job function, needed to decide a run the pool had to kill. */
export interface RunSettings {
  retryPattern: RetryPattern | null;
  retryOnTimeout: boolean;
}

/** Options of one {@link ProcessPool.execute} call. */
export interface PoolExecuteOptions {
  /** Real-time limit (ms); 0 or Infinity = none. @default limits.timeRealMs */
  limitMs?: number;
  /** Aborts the run (shutdown, cancel): the worker is stopped and the run ends at once with the reason. */
  signal?: AbortSignal;
  /** The job reported progress. */
  onProgress?(progress: JobProgress): Promise<void> | void;
  /** The job set its checkpoint. */
  onCheckpoint?(value: unknown): Promise<void> | void;
  /** A timeout-log row: written by the job (toolkit) or by the pool when it stopped the run. */
  onTimeoutLog?(entry: TimeoutLogEntryInput): Promise<void> | void;
  /** The function's retry rules as the parent knows them (the worker's own definition wins when it answers). */
  settings?: RunSettings;
  /** The fence of `job.transaction()` in the worker (the runner holding the job); without it the worker's transaction completes no job row. */
  transaction?: JobTransactionJob;
  /** The worker's `job.transaction()` committed at `at`: the job is done in the database. */
  onCommitted?(at: number): Promise<void> | void;
}
