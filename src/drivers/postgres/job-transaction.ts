/**
 * The job's own transaction on PostgreSQL (`job.transaction(async (client) => …)`): the job's writes and
 * its completion commit together, on one client of the queue's pool.
 *
 * Order: BEGIN; lock the job row by its fence (`id, attempt, runner_id, state ∈ {enqueued, started}`,
 * `FOR UPDATE`), so that no rescue, cancel or requeue can change it until this transaction ends (the
 * rescue skips locked rows); run the callback; record the job as done with the callback's value (the
 * same UPDATE as a batched completion), release its dependants, NOTIFY `freed`; COMMIT. A fence that
 * fails rolls back before the callback runs. An abort (time limit, shutdown) before the COMMIT is sent
 * closes the connection, which rolls the transaction back on the server at once.
 * @module
 */
import type * as PgTypes from 'pg';
import { ConveyorError, JobLeaseLostError, toError } from '../../errors.ts';
import { operationError } from '../shared/guards.ts';
import type { JobTransactionParams, JobTransactionResult } from '../driver.ts';
import type { RawRow } from '../rows.ts';
import { mayHaveDependants } from '../shared/write-rules.ts';
import type { PgContext } from './context.ts';
import { WRITE_FENCE, doneUpdateSql, releaseDependants } from './job-writes.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/** `Driver.jobTransaction`: run {@link JobTransactionParams.fn} and the fenced completion in one transaction. */
export async function runJobTransaction(ctx: PgContext, p: JobTransactionParams): Promise<JobTransactionResult> {
  ctx.assertOpen('jobTransaction');
  if (p.signal?.aborted) throw toError(p.signal.reason);
  const s = ctx.sqlSchema;
  let client: PgTypes.PoolClient;
  try {
    client = await ctx.pool.connect();
  } catch (err) {
    throw dbError(err);
  }
  let broken = false;
  // a checked-out client that loses its connection emits 'error': without a listener, an uncaught exception
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  let committing = false;
  let abandoned = false;
  let abort: (reason: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    abort = reject;
  });
  aborted.catch(() => {
    /* raced below */
  });
  const onAbort = () => {
    if (committing) return; // the COMMIT is out: its answer decides
    abandoned = true;
    abort(toError(p.signal!.reason));
  };
  p.signal?.addEventListener('abort', onAbort, { once: true });
  if (p.signal?.aborted) onAbort(); // aborted while connecting
  const own = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (err) {
      throw dbError(err);
    }
  };
  const body = async (): Promise<JobTransactionResult> => {
    await own(client.query('BEGIN'));
    const job = p.job;
    if (job) {
      const fence = await own(
        client.query(
          ctx.named(
            `SELECT id FROM ${s}.jobs WHERE id = $1 AND attempt = $2 AND runner_id = $3 AND state IN ${RUNNING_STATES_SQL} FOR UPDATE`,
            [job.id, job.attempt, job.runnerId],
          ),
        ),
      );
      if (!fence.rowCount) throw leaseLost(job);
    }
    const value: unknown = await p.fn(client);
    if (abandoned) throw new Error('job.transaction() was aborted');
    const at = p.now();
    if (job) {
      const result = p.encodeResult(value);
      const r = await own(
        client.query({
          text: doneUpdateSql(s, WRITE_FENCE, 'j.id, j.has_dependants'),
          values: [job.runnerId, [job.id], [job.attempt], [job.startedAt], [at], [result]],
        }),
      );
      // the row is locked since the fence: only a callback that changed it itself gets here
      if (!r.rowCount) throw leaseLost(job);
      if (mayHaveDependants(job) && (r.rows as RawRow[])[0]!.has_dependants)
        await own(releaseDependants(ctx, client, [job.id]));
      await own(client.query(ctx.named('SELECT pg_notify($1, $2)', [ctx.notify.freed, job.runnerId])));
    }
    if (abandoned) throw new Error('job.transaction() was aborted');
    committing = true;
    await own(client.query('COMMIT'));
    return { value, completed: job !== null, at };
  };
  try {
    return await Promise.race([body(), aborted]);
  } catch (err) {
    if (abandoned)
      broken = true; // the callback may still hold the client: closing it rolls back on the server
    else {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
    }
    throw err;
  } finally {
    p.signal?.removeEventListener('abort', onAbort);
    client.off('error', onError);
    client.release(broken ? new Error('job.transaction() connection discarded') : undefined);
  }
}

function leaseLost(job: NonNullable<JobTransactionParams['job']>): JobLeaseLostError {
  return new JobLeaseLostError(
    `job ${job.id} (attempt ${job.attempt}) is no longer held by runner ${job.runnerId} (its lease was lost: rescued, cancelled, requeued or done): its transaction was rolled back`,
    { details: { jobId: job.id, attempt: job.attempt, runnerId: job.runnerId } },
  );
}

function dbError(err: unknown): Error {
  if (err instanceof ConveyorError) return err;
  return operationError('PostgreSQL', 'jobTransaction', err, { code: (err as { code?: string }).code });
}
