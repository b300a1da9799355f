/**
 * The SQLite admin state changes: requeue, set done, cancel (with the shared cascade rule of
 * shared/job-admin.ts) and prune, each in `BEGIN IMMEDIATE`, then a wake-up for this process's runners.
 * @module
 */
import type { JobState } from '../../job/states.ts';
import { cancelResult, cancelSequence, pruneSequence, requeueResult, setDoneResult } from '../shared/job-admin.ts';
import { runSteps } from '../shared/steps.ts';
import type { JobAdminParams } from '../types/job-admin.ts';
import type { SqliteContext } from './context.ts';
import { releaseDependants } from './job-writes.ts';
import { CANCEL_FROM_SQL, SET_DONE_FROM_SQL } from '../shared/sql.ts';

/** Back to `pending` (or `wait_dependencies` when a parent is not done), tries reset; returns the ids changed. */
export async function sqliteJobRequeue(c: SqliteContext, p: JobAdminParams): Promise<number[]> {
  const ids = c.tx('jobRequeue', () =>
    c
      .all(
        `UPDATE conveyor_jobs SET
         state = CASE WHEN EXISTS (SELECT 1 FROM conveyor_job_deps d JOIN conveyor_jobs pj ON pj.id = d.depends_on
                                   WHERE d.job_id = conveyor_jobs.id AND pj.state <> 'done') THEN 'wait_dependencies' ELSE 'pending' END,
         attempt = 0, crash_count = 0, eta = NULL, runner_id = NULL, enqueued_at = NULL, started_at = NULL, done_at = NULL,
         cancelled_at = NULL, exc_name = NULL, exc_message = NULL, exc_info = NULL, result = ?
       WHERE id IN (SELECT value FROM json_each(?)) AND state <> 'wait_dependencies' RETURNING id`,
        requeueResult(p),
        JSON.stringify(p.ids),
      )
      .map((r) => Number(r.id)),
  );
  if (ids.length) c.wake('jobs');
  return ids;
}

/** Set `done` by hand and release the dependants that were waiting only on these; returns the ids changed. */
export async function sqliteJobSetDone(c: SqliteContext, p: JobAdminParams): Promise<number[]> {
  const ids = c.tx('jobSetDone', () => {
    const changed = c
      .all(
        `UPDATE conveyor_jobs SET state = 'done', done_at = ?, runner_id = NULL, result = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND state IN ${SET_DONE_FROM_SQL} RETURNING id`,
        p.now,
        setDoneResult(p),
        JSON.stringify(p.ids),
      )
      .map((r) => Number(r.id));
    if (changed.length) releaseDependants(c, changed);
    return changed;
  });
  if (ids.length) c.wake('freed');
  return ids;
}

/** Cancel (not `done` ones); with `cascade`, their dependants too. Returns the ids changed. */
export async function sqliteJobCancel(c: SqliteContext, p: JobAdminParams): Promise<number[]> {
  const ids = c.tx('jobCancel', () =>
    runSteps(cancelSequence(p.ids, p.cascade === true), {
      cancel: (ids) =>
        c
          .all(
            `UPDATE conveyor_jobs SET state = 'cancelled', cancelled_at = ?, runner_id = NULL, result = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND state IN ${CANCEL_FROM_SQL} RETURNING id`,
            p.now,
            cancelResult(p),
            JSON.stringify(ids),
          )
          .map((r) => Number(r.id)),
      children: (ids) =>
        c
          .all(
            'SELECT DISTINCT job_id AS id FROM conveyor_job_deps WHERE depends_on IN (SELECT value FROM json_each(?))',
            JSON.stringify(ids),
          )
          .map((r) => Number(r.id)),
    }),
  );
  if (ids.length) c.wake('freed');
  return ids;
}

/** Delete jobs in `states` finished (or created) before `before`, a batch per transaction; returns the count. */
export async function sqliteJobPrune(
  c: SqliteContext,
  p: { before: number; states: readonly JobState[]; batchSize?: number },
): Promise<number> {
  return runSteps(pruneSequence(p.batchSize), {
    batch: (size) =>
      c.tx('jobPrune', () => {
        const ids = c
          .all(
            `SELECT id FROM conveyor_jobs WHERE state IN (SELECT value FROM json_each(?)) AND coalesce(done_at, cancelled_at, created_at) < ? LIMIT ?`,
            JSON.stringify(p.states),
            p.before,
            size,
          )
          .map((r) => Number(r.id));
        if (!ids.length) return 0;
        const list = JSON.stringify(ids);
        c.run(
          'DELETE FROM conveyor_job_deps WHERE job_id IN (SELECT value FROM json_each(?)) OR depends_on IN (SELECT value FROM json_each(?))',
          list,
          list,
        );
        c.run('DELETE FROM conveyor_job_attempts WHERE job_id IN (SELECT value FROM json_each(?))', list);
        return c.run('DELETE FROM conveyor_jobs WHERE id IN (SELECT value FROM json_each(?))', list);
      }),
  });
}
