/**
 * The completion SQL shared by the batched completions (`jobFinishMany`) and the job's own transaction
 * (`job-transaction.ts`), so that a job recorded as done looks the same whichever path wrote it.
 * @module
 */

/**
 * The fence of the unnamed batch statements: `j.id = ANY($2)` gives their custom plans the primary key
 * to walk (a join on unnest() alone was planned as a scan of the whole table). `$1` is the runner id,
 * `u` the unnested commands.
 */
export const FINISH_FENCE = `j.id = ANY($2::bigint[]) AND j.id = u.id AND j.attempt = u.attempt AND j.runner_id = $1 AND j.state IN ('enqueued','started')`;

/**
 * The completion update of `done` commands, fenced by `where`. Parameters: `$1` runner id, then arrays
 * `$2` ids, `$3` attempts, `$4` start times (ms), `$5` completion times (ms), `$6` results (JSON text).
 * @param s The quoted schema.
 */
export function doneUpdateSql(s: string, where: string, returning: string): string {
  return `UPDATE ${s}.jobs j SET state = 'done',
               started_at = 'epoch'::timestamptz + u.started * interval '1 millisecond',
               done_at = 'epoch'::timestamptz + u.at * interval '1 millisecond', exec_time_ms = u.at - u.started, result = u.result,
               exc_name = NULL, exc_message = NULL, exc_info = NULL
             FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::jsonb[]) AS u(id, attempt, started, at, result)
             WHERE ${where} RETURNING ${returning}`;
}
