/**
 * SQL text shared by the SQLite driver's statements.
 * @module
 */

/** Every column of the jobs table, in the order `rowToJob` reads them. */
export const JOB_COLUMNS = `id, uuid, graph_uuid, model, method, records, args, state, priority, eta, channel, attempt, max_retries,
  crash_count, result, exc_name, exc_message, exc_info, description, identity_key, context, progress, checkpoint,
  time_limit_ms, created_at, enqueued_at, started_at, done_at, cancelled_at, exec_time_ms, runner_id, has_dependants`;
