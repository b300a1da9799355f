/**
 * SQL text shared by the PostgreSQL driver's statements: time conversions and column lists.
 * @module
 */

/**
 * `'epoch' + expr ms`: an SQL expression holding ms since the epoch as an exact timestamptz (to_timestamp(float) can
 * round a ms down).
 */
export const msTime = (expr: string): string => `('epoch'::timestamptz + ${expr} * interval '1 millisecond')`;

/** {@link msTime} of the parameter `$n`. */
export const paramTime = (n: number): string => msTime(`$${n}::bigint`);

/** A timestamptz column or expression as exact ms since the epoch (bigint). */
export const columnMs = (col: string): string => `(extract(epoch from ${col}) * 1000)::bigint`;

/** Every column of the jobs table, in the order `rowToJob` reads them. */
export const JOB_COLUMNS = `id, uuid, graph_uuid, model, method, records, args, state, priority, eta, channel, attempt, max_retries,
  crash_count, result, exc_name, exc_message, exc_info, description, identity_key, context, progress, checkpoint,
  time_limit_ms, created_at, enqueued_at, started_at, done_at, cancelled_at, exec_time_ms, runner_id, has_dependants`;

/** The timestamp columns of the jobs table. */
const TIME_COLUMNS = new Set(['eta', 'created_at', 'enqueued_at', 'started_at', 'done_at', 'cancelled_at']);

/** {@link JOB_COLUMNS} with the timestamps as ms (what the admin reads select). */
export const JOB_COLUMNS_MS = JOB_COLUMNS.split(',')
  .map((f) => f.trim())
  .map((f) => (TIME_COLUMNS.has(f) ? `${columnMs(f)} AS ${f}` : f))
  .join(', ');
