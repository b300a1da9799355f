/**
 * The completion SQL shared by the batched completions (`jobFinishMany`) and the job's own transaction
 * (`job-transaction.ts`), so that a job recorded as done looks the same whichever path wrote it.
 * @module
 */

/**
 * Record one job as done, fenced. Parameters: started_at, done_at, exec_time_ms, result (JSON text), id,
 * attempt, runner id. Returns `deps` (whether other jobs depend on it) when the fence held.
 */
export const DONE_SQL = `UPDATE conveyor_jobs SET state = 'done', started_at = ?, done_at = ?, exec_time_ms = ?, result = ?,
  exc_name = NULL, exc_message = NULL, exc_info = NULL
  WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ('enqueued','started') RETURNING has_dependants AS deps`;
