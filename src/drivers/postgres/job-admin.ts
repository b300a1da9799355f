/**
 * The PostgreSQL admin state changes: requeue, set done, cancel (with the shared cascade rule of
 * shared/job-admin.ts) and prune. Set done and cancel take the claim lock, so a claim never takes a job
 * they are moving (the claim's update has no state check, see the claim).
 * @module
 */
import type { JobState } from '../../job/states.ts';
import type { RawRow } from '../rows.ts';
import { cancelResult, cancelSequence, pruneSequence, requeueResult, setDoneResult } from '../shared/job-admin.ts';
import { runStepsAsync } from '../shared/steps.ts';
import type { JobAdminParams } from '../types/job-admin.ts';
import type { PgContext } from './context.ts';
import { releaseDependants } from './job-writes.ts';
import { paramTime } from './sql.ts';
import { CANCEL_FROM_SQL, SET_DONE_FROM_SQL } from '../shared/sql.ts';

/** Back to `pending` (or `wait_dependencies` when a parent is not done), tries reset; returns the ids changed. */
export async function pgJobRequeue(c: PgContext, p: JobAdminParams): Promise<number[]> {
  return c.tx('jobRequeue', async (client) => {
    await client.query(c.named(`SELECT pg_advisory_xact_lock(${c.locks.graph})`));
    const r = await client.query(
      c.named(
        `UPDATE ${c.sqlSchema}.jobs j SET
           state = CASE WHEN EXISTS (SELECT 1 FROM ${c.sqlSchema}.job_deps d JOIN ${c.sqlSchema}.jobs pj ON pj.id = d.depends_on
                                     WHERE d.job_id = j.id AND pj.state <> 'done') THEN 'wait_dependencies' ELSE 'pending' END,
           attempt = 0, crash_count = 0, eta = NULL, runner_id = NULL, enqueued_at = NULL, started_at = NULL, done_at = NULL,
           cancelled_at = NULL, exc_name = NULL, exc_message = NULL, exc_info = NULL, result = $1
         WHERE j.id = ANY($2::bigint[]) AND j.state <> 'wait_dependencies' RETURNING j.id`,
        [requeueResult(p), p.ids],
      ),
    );
    await client.query(c.named("SELECT pg_notify($1, '')", [c.notify.jobs]));
    return (r.rows as RawRow[]).map((x) => Number(x.id));
  });
}

/** Set `done` by hand and release the dependants that were waiting only on these; returns the ids changed. */
export async function pgJobSetDone(c: PgContext, p: JobAdminParams): Promise<number[]> {
  return c.tx('jobSetDone', async (client) => {
    await client.query(
      c.named(`SELECT pg_advisory_xact_lock(${c.locks.claim}), pg_advisory_xact_lock(${c.locks.graph})`),
    );
    const r = await client.query(
      c.named(
        `UPDATE ${c.sqlSchema}.jobs SET state = 'done', done_at = ${paramTime(1)}, runner_id = NULL, result = $2
         WHERE id = ANY($3::bigint[]) AND state IN ${SET_DONE_FROM_SQL} RETURNING id`,
        [p.now, setDoneResult(p), p.ids],
      ),
    );
    const ids = (r.rows as RawRow[]).map((x) => Number(x.id));
    await releaseDependants(c, client, ids);
    await client.query(c.named("SELECT pg_notify($1, '')", [c.notify.freed]));
    return ids;
  });
}

/** Cancel (not `done` ones); with `cascade`, their dependants too. Returns the ids changed. */
export async function pgJobCancel(c: PgContext, p: JobAdminParams): Promise<number[]> {
  return c.tx('jobCancel', async (client) => {
    await client.query(
      c.named(`SELECT pg_advisory_xact_lock(${c.locks.claim}), pg_advisory_xact_lock(${c.locks.graph})`),
    );
    const all = await runStepsAsync(cancelSequence(p.ids, p.cascade === true), {
      cancel: async (ids) =>
        (
          (
            await client.query(
              c.named(
                `UPDATE ${c.sqlSchema}.jobs SET state = 'cancelled', cancelled_at = ${paramTime(1)}, runner_id = NULL, result = $2
         WHERE id = ANY($3::bigint[]) AND state IN ${CANCEL_FROM_SQL} RETURNING id`,
                [p.now, cancelResult(p), ids],
              ),
            )
          ).rows as RawRow[]
        ).map((x) => Number(x.id)),
      children: async (ids) =>
        (
          (
            await client.query(
              c.named(
                `SELECT DISTINCT job_id AS id FROM ${c.sqlSchema}.job_deps WHERE depends_on = ANY($1::bigint[])`,
                [ids],
              ),
            )
          ).rows as RawRow[]
        ).map((x) => Number(x.id)),
    });
    await client.query(c.named("SELECT pg_notify($1, '')", [c.notify.freed]));
    return all;
  });
}

/** Delete jobs in `states` finished (or created) before `before`, a batch per transaction; returns the count. */
export async function pgJobPrune(
  c: PgContext,
  p: { before: number; states: readonly JobState[]; batchSize?: number },
): Promise<number> {
  return runStepsAsync(pruneSequence(p.batchSize), {
    batch: (size) =>
      c.tx('jobPrune', async (client) => {
        const r = await client.query(
          c.named(
            `WITH victims AS (SELECT id FROM ${c.sqlSchema}.jobs WHERE state = ANY($1::text[]) AND coalesce(done_at, cancelled_at, created_at) < ${paramTime(2)} LIMIT $3 FOR UPDATE SKIP LOCKED),
                d1 AS (DELETE FROM ${c.sqlSchema}.job_deps WHERE job_id IN (SELECT id FROM victims) OR depends_on IN (SELECT id FROM victims)),
                d2 AS (DELETE FROM ${c.sqlSchema}.job_attempts WHERE job_id IN (SELECT id FROM victims))
           DELETE FROM ${c.sqlSchema}.jobs WHERE id IN (SELECT id FROM victims)`,
            [p.states, p.before, size],
          ),
        );
        return r.rowCount ?? 0;
      }),
  });
}
