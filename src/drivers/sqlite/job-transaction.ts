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
import { ConveyorError, JobLeaseLostError, TransactionScopeError } from '../../errors.ts';
import { operationError } from '../shared/guards.ts';
import type { JobTransactionParams, JobTransactionResult } from '../driver.ts';
import type { SqliteContext } from './context.ts';
import { DONE_SQL, releaseDependants } from './job-writes.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

const FENCE_SQL = `SELECT id FROM conveyor_jobs WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ${RUNNING_STATES_SQL}`;

/** `Driver.jobTransaction`: the transaction, then a wake-up for the capacity the completed job freed. */
export async function runJobTransaction(ctx: SqliteContext, p: JobTransactionParams): Promise<JobTransactionResult> {
  ctx.assertOpen('jobTransaction');
  const out = jobTransaction(ctx, p);
  if (out.completed) ctx.wake('freed', p.job!.runnerId);
  return out;
}

/** Run {@link JobTransactionParams.fn} and the fenced completion in one `BEGIN IMMEDIATE`, synchronously. */
function jobTransaction(ctx: SqliteContext, p: JobTransactionParams): JobTransactionResult {
  const own = <T>(work: () => T): T => {
    try {
      return work();
    } catch (err) {
      if (err instanceof ConveyorError) throw err;
      throw operationError('SQLite', 'jobTransaction', err);
    }
  };
  own(() => ctx.db.exec('BEGIN IMMEDIATE'));
  try {
    const job = p.job;
    if (job && !own(() => ctx.get(FENCE_SQL, job.id, job.attempt, job.runnerId))) {
      throw new JobLeaseLostError(
        `job ${job.id} (attempt ${job.attempt}) is no longer held by runner ${job.runnerId} (its lease was lost: rescued, cancelled, requeued or done): its transaction was rolled back`,
        { details: { jobId: job.id, attempt: job.attempt, runnerId: job.runnerId } },
      );
    }
    const value = p.fn(ctx.db);
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
        ctx.get(DONE_SQL, job.startedAt, at, at - job.startedAt, result, job.id, job.attempt, job.runnerId),
      );
      if (!row) {
        throw new JobLeaseLostError(
          `job ${job.id} (attempt ${job.attempt}): the transaction's own writes changed the job row; rolled back`,
          { details: { jobId: job.id, attempt: job.attempt, runnerId: job.runnerId } },
        );
      }
      if (Number(row.deps)) own(() => releaseDependants(ctx, [job.id]));
    }
    own(() => ctx.db.exec('COMMIT'));
    return { value, completed: job !== null, at };
  } catch (err) {
    try {
      ctx.db.exec('ROLLBACK');
    } catch {
      /* already rolled back */
    }
    throw err;
  }
}
