/**
 * Types of the runner's fenced writes: `Driver.jobWriteMany` commands and `Driver.jobTransaction`.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */

/** A fenced state change by the runner holding the job. */
export type JobWrite =
  | { kind: 'start'; id: number; attempt: number; at: number }
  | {
      kind: 'done';
      id: number;
      attempt: number;
      startedAt: number;
      at: number;
      result: string | null;
      /** Whether other jobs depend on this one (from the claimed row); lets a driver skip the dependants step. Unknown = maybe. */
      hasDependants?: boolean;
    }
  | {
      kind: 'retry';
      id: number;
      attempt: number;
      startedAt: number | null;
      at: number;
      eta: number;
      /** When false, the try is given back (attempt decremented). */
      countTry: boolean;
      outcome: string;
      excName: string | null;
      excMessage: string | null;
      excInfo: string | null;
    }
  | {
      kind: 'failed';
      id: number;
      attempt: number;
      startedAt: number | null;
      at: number;
      outcome: string;
      excName: string | null;
      excMessage: string | null;
      excInfo: string | null;
    }
  | { kind: 'release'; id: number; attempt: number; at: number };

/** The job a `Driver.jobTransaction` records as done, fenced like every runner write. */
export interface JobTransactionJob {
  id: number;
  attempt: number;
  /** The runner holding the job: the fence is `(id, attempt, runnerId, state ∈ {enqueued, started})`. */
  runnerId: string;
  /** When the run started (ms), stored as the job's start time. */
  startedAt: number;
  /** Whether other jobs depend on this one (from the claimed row). Unknown = maybe. */
  hasDependants?: boolean;
}

/** Parameters of `Driver.jobTransaction`. */
export interface JobTransactionParams {
  /** The job to record as done in the same transaction; null when there is no job row (a direct, inline call). */
  job: JobTransactionJob | null;
  /**
   * The job's own writes. PostgreSQL: gets a `pg` client inside `BEGIN` and may be async. SQLite: gets the
   * `DatabaseSync` handle and must be synchronous (a returned promise is a `TransactionScopeError`, rolled back).
   */
  fn(db: unknown): unknown;
  /** The value `fn` returned as the stored result (JSON text or null); a throw rolls the transaction back. */
  encodeResult(value: unknown): string | null;
  /** The completion time, read once `fn` has returned. */
  now(): number;
  /** PostgreSQL: an abort before the COMMIT is sent ends the transaction at once (rolled back on the server). */
  signal?: AbortSignal;
}

/** What a committed `Driver.jobTransaction` did. */
export interface JobTransactionResult {
  /** What `fn` returned (awaited). */
  value: unknown;
  /** True when the job was recorded as done with the writes. */
  completed: boolean;
  /** The completion time stored (ms). */
  at: number;
}

/** Per command: `ok`, or `stale` when the fence no longer matched (the job was rescued, requeued, cancelled…). */
export type FenceResult = 'ok' | 'stale';
