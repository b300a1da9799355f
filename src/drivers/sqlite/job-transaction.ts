/**
 * The job's own transaction on SQLite (`job.transaction((db) => …)`): the job's writes and its
 * completion commit in one `BEGIN IMMEDIATE`. The callback is synchronous: `node:sqlite` is, and a
 * SQLite transaction must never stay open across an `await` (it would hold the file's write lock
 * while other work runs). A callback that returns a promise is a `TransactionScopeError`, rolled back.
 *
 * Order: BEGIN IMMEDIATE (the write lock: nothing else changes the row until COMMIT); check the job's
 * fence (`id, attempt, runner_id, state ∈ {enqueued, started}`); run the callback; record the job as
 * done (the same UPDATE as a batched completion) and release its dependants; COMMIT.
 * @module
 */
import { ConveyorError, DatabaseError, JobLeaseLostError, TransactionScopeError } from '../../errors.ts';
import type { JobTransactionParams, JobTransactionResult } from '../driver.ts';
import type { RawRow } from '../rows.ts';
import { DONE_SQL } from './finish-sql.ts';

type SqlValue = null | number | bigint | string | Uint8Array;

/** What the transaction needs of its driver. */
export interface SqliteJobTransactionHost {
  /** The `DatabaseSync` handle (given to the callback as it is). */
  readonly db: { exec(sql: string): void };
  /** One row of a cached prepared statement. */
  get(sql: string, ...params: SqlValue[]): RawRow | undefined;
  /** Release the dependants of jobs now done (inside this transaction). */
  releaseDependants(doneIds: readonly number[]): unknown;
}

const FENCE_SQL =
  "SELECT id FROM conveyor_jobs WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ('enqueued','started')";

/** Run {@link JobTransactionParams.fn} and the fenced completion in one `BEGIN IMMEDIATE`, synchronously. */
export function sqliteJobTransaction(host: SqliteJobTransactionHost, p: JobTransactionParams): JobTransactionResult {
  const own = <T>(work: () => T): T => {
    try {
      return work();
    } catch (err) {
      if (err instanceof ConveyorError) throw err;
      throw new DatabaseError(`SQLite jobTransaction failed: ${(err as Error).message}`, {
        cause: err,
        details: { operation: 'jobTransaction' },
      });
    }
  };
  own(() => host.db.exec('BEGIN IMMEDIATE'));
  try {
    const job = p.job;
    if (job && !own(() => host.get(FENCE_SQL, job.id, job.attempt, job.runnerId))) {
      throw new JobLeaseLostError(
        `job ${job.id} (attempt ${job.attempt}) is no longer held by runner ${job.runnerId} (its lease was lost: rescued, cancelled, requeued or done): its transaction was rolled back`,
        { details: { jobId: job.id, attempt: job.attempt, runnerId: job.runnerId } },
      );
    }
    const value = p.fn(host.db);
    if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
      (value as Promise<unknown>).then(undefined, () => {}); // its outcome no longer matters: everything is rolled back
      throw new TransactionScopeError(
        'job.transaction() on SQLite takes a synchronous callback (it got a promise): a SQLite transaction must not stay open across an await. Do the async work before or after the transaction; its writes were rolled back',
      );
    }
    const at = p.now();
    if (job) {
      const result = p.encodeResult(value);
      const row = own(() =>
        host.get(DONE_SQL, job.startedAt, at, at - job.startedAt, result, job.id, job.attempt, job.runnerId),
      );
      if (!row) {
        throw new JobLeaseLostError(
          `job ${job.id} (attempt ${job.attempt}): the transaction's own writes changed the job row; rolled back`,
          { details: { jobId: job.id, attempt: job.attempt, runnerId: job.runnerId } },
        );
      }
      if (Number(row.deps)) own(() => host.releaseDependants([job.id]));
    }
    own(() => host.db.exec('COMMIT'));
    return { value, completed: job !== null, at };
  } catch (err) {
    try {
      host.db.exec('ROLLBACK');
    } catch {
      /* already rolled back */
    }
    throw err;
  }
}
