/**
 * The runner's fenced writes on SQLite: start, done, retry, failed and release commands, batched
 * (`jobWriteMany`), and the release of the dependants of completed jobs. The completion SQL is shared
 * with the job's own transaction (`job-transaction.ts`), so that a job recorded as done looks the same
 * whichever path wrote it.
 * @module
 */
import type { JobWrite, FenceResult } from '../driver.ts';
import { DEPENDANTS_RELEASE, STATE_AFTER, freesCapacity } from '../shared/write-rules.ts';
import type { SqliteContext } from './context.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/**
 * Record one job as done, fenced. Parameters: started_at, done_at, exec_time_ms, result (JSON text), id,
 * attempt, runner id. Returns `deps` (whether other jobs depend on it) when the fence held.
 */
export const DONE_SQL = `UPDATE conveyor_jobs SET state = '${STATE_AFTER.done}', started_at = ?, done_at = ?, exec_time_ms = ?, result = ?,
  exc_name = NULL, exc_message = NULL, exc_info = NULL
  WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ${RUNNING_STATES_SQL} RETURNING has_dependants AS deps`;

/**
 * `Driver.jobWriteMany`: a batch of fenced commands of one runner, in one transaction. Each command
 * applies only while the runner still holds the job (same attempt, its runner id, running state); the
 * others are `stale`.
 */
export async function jobWriteMany(
  ctx: SqliteContext,
  runnerId: string,
  commands: readonly JobWrite[],
): Promise<FenceResult[]> {
  let freed = false;
  const out = ctx.tx('jobWriteMany', () => {
    const released: number[] = [];
    const results = commands.map((c): FenceResult => {
      if (c.kind === 'done') {
        // one prepared statement per job: cheaper here than one UPDATE … FROM json_each (the planner scans)
        const r = ctx.get(DONE_SQL, c.startedAt, c.at, c.at - c.startedAt, c.result, c.id, c.attempt, runnerId);
        if (!r) return 'stale';
        freed = true;
        if (Number(r.deps)) released.push(c.id);
        return 'ok';
      }
      const n = finishOne(ctx, runnerId, c);
      if (n === 0) return 'stale';
      if (freesCapacity(c.kind)) freed = true;
      return 'ok';
    });
    if (released.length) releaseDependants(ctx, released);
    return results;
  });
  if (freed) ctx.wake('freed', runnerId);
  return out;
}

/** Apply one command other than `done`, fenced; the number of rows it changed (0: stale). */
function finishOne(ctx: SqliteContext, runnerId: string, c: JobWrite): number {
  const fence = `id = ? AND attempt = ? AND runner_id = ? AND state IN ${RUNNING_STATES_SQL}`;
  switch (c.kind) {
    case 'start':
      return ctx.run(
        `UPDATE conveyor_jobs SET state = '${STATE_AFTER.start}', started_at = ? WHERE ${fence} AND state = 'enqueued'`,
        c.at,
        c.id,
        c.attempt,
        runnerId,
      );
    case 'done':
      throw new Error('done commands are handled in jobWriteMany');
    case 'retry': {
      const n = ctx.run(
        `UPDATE conveyor_jobs SET state = '${STATE_AFTER.retry}', eta = ?, attempt = attempt - ?, runner_id = NULL, enqueued_at = NULL,
             started_at = coalesce(?, started_at), exec_time_ms = CASE WHEN ? IS NULL THEN exec_time_ms ELSE ? - ? END,
             exc_name = ?, exc_message = ?, exc_info = ?, result = ?
           WHERE ${fence}`,
        c.eta,
        c.countTry ? 0 : 1,
        c.startedAt,
        c.startedAt,
        c.at,
        c.startedAt,
        c.excName,
        c.excMessage,
        c.excInfo,
        c.excMessage === null ? null : JSON.stringify(c.excMessage),
        c.id,
        c.attempt,
        runnerId,
      );
      if (n)
        recordAttempt(ctx, c.id, c.attempt, runnerId, c.startedAt, c.at, c.outcome, c.excName, c.excMessage, c.excInfo);
      return n;
    }
    case 'failed': {
      const n = ctx.run(
        `UPDATE conveyor_jobs SET state = '${STATE_AFTER.failed}', done_at = NULL, started_at = coalesce(?, started_at),
             exec_time_ms = CASE WHEN ? IS NULL THEN exec_time_ms ELSE ? - ? END, exc_name = ?, exc_message = ?, exc_info = ?
           WHERE ${fence}`,
        c.startedAt,
        c.startedAt,
        c.at,
        c.startedAt,
        c.excName,
        c.excMessage,
        c.excInfo,
        c.id,
        c.attempt,
        runnerId,
      );
      if (n)
        recordAttempt(ctx, c.id, c.attempt, runnerId, c.startedAt, c.at, c.outcome, c.excName, c.excMessage, c.excInfo);
      return n;
    }
    case 'release':
      return ctx.run(
        `UPDATE conveyor_jobs SET state = '${STATE_AFTER.release}', attempt = attempt - 1, runner_id = NULL, enqueued_at = NULL, started_at = NULL WHERE ${fence}`,
        c.id,
        c.attempt,
        runnerId,
      );
  }
}

/** Log one ended attempt (a retry or a failure) in the attempts table. */
export function recordAttempt(
  ctx: SqliteContext,
  jobId: number,
  attempt: number,
  runnerId: string | null,
  startedAt: number | null,
  endedAt: number,
  outcome: string,
  excName: string | null,
  excMessage: string | null,
  excInfo: string | null,
): void {
  ctx.run(
    'INSERT INTO conveyor_job_attempts (job_id, attempt, runner_id, started_at, ended_at, outcome, exc_name, exc_message, exc_info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    jobId,
    attempt,
    runnerId,
    startedAt,
    endedAt,
    outcome,
    excName,
    excMessage,
    excInfo,
  );
}

/** Dependants of `doneIds` whose parents are all done become pending (inside the caller's transaction). */
export function releaseDependants(ctx: SqliteContext, doneIds: readonly number[]): number[] {
  const rows = ctx.all(
    `UPDATE conveyor_jobs SET state = '${DEPENDANTS_RELEASE.to}'
       WHERE state = '${DEPENDANTS_RELEASE.from}'
         AND id IN (SELECT job_id FROM conveyor_job_deps WHERE depends_on IN (SELECT value FROM json_each(?)))
         AND NOT EXISTS (SELECT 1 FROM conveyor_job_deps d JOIN conveyor_jobs p ON p.id = d.depends_on
                         WHERE d.job_id = conveyor_jobs.id AND p.state <> '${DEPENDANTS_RELEASE.parentsIn}')
       RETURNING id`,
    JSON.stringify(doneIds),
  );
  if (rows.length) ctx.wake('jobs');
  return rows.map((r) => Number(r.id));
}
