/**
 * PostgreSQL storage of the timeout log (`timeout_log`): what the timeout toolkit records about timed
 * operations, listed and summed up for the dashboard.
 * @module
 */
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import { rowToTimeoutEntry, type RawRow } from '../rows.ts';
import { timeoutStats } from '../shared/timeout-stats.ts';
import type { TimeoutLogListParams, TimeoutStatistics } from '../types/timeout-log.ts';
import type { PgContext } from './context.ts';
import { columnMs, paramTime } from './sql.ts';

/** Record one timed operation; returns the entry's id. */
export async function pgTimeoutLogInsert(
  c: PgContext,
  e: TimeoutLogEntryInput & { at: number; host: string | null },
): Promise<number> {
  return c.read('timeoutLogInsert', async (db) => {
    const r = await db.query(
      c.named(
        `INSERT INTO ${c.sqlSchema}.timeout_log (at, operation, kind, model, method, job_id, threshold_ms, duration_ms, exceeded, error, host)
       VALUES (${paramTime(1)}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
        [
          e.at,
          e.operation,
          e.kind,
          e.model ?? null,
          e.method ?? null,
          e.jobId ?? null,
          Math.round(e.thresholdMs),
          Math.round(e.durationMs),
          e.exceeded,
          e.error ?? null,
          e.host,
        ],
      ),
    );
    return Number(r.rows[0].id);
  });
}

/** Entries, newest first, filtered; `cursor` is the last id of the previous page. */
export async function pgTimeoutLogList(c: PgContext, p: TimeoutLogListParams): Promise<TimeoutLogEntry[]> {
  return c.read('timeoutLogList', async (db) => {
    const where: string[] = [];
    const values: unknown[] = [];
    if (p.since !== undefined) {
      values.push(p.since);
      where.push(`at >= ${paramTime(values.length)}`);
    }
    if (p.model !== undefined) {
      values.push(p.model);
      where.push(`model = $${values.length}`);
    }
    if (p.method !== undefined) {
      values.push(p.method);
      where.push(`method = $${values.length}`);
    }
    if (p.kind !== undefined) {
      values.push(p.kind);
      where.push(`kind = $${values.length}`);
    }
    if (p.cursor) {
      values.push(p.cursor);
      where.push(`id < $${values.length}`);
    }
    values.push(p.limit);
    const r = await db.query(
      `SELECT id, ${columnMs('at')} AS at, operation, kind, model, method, job_id, threshold_ms, duration_ms, exceeded, error, host
      FROM ${c.sqlSchema}.timeout_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    return (r.rows as RawRow[]).map(rowToTimeoutEntry);
  });
}

/** Counts and average durations since `since`, overall, by model and by method. */
export async function pgTimeoutLogStatistics(c: PgContext, p: { since: number }): Promise<TimeoutStatistics> {
  return c.read('timeoutLogStatistics', async (db) => {
    const r = await db.query(
      c.named(
        `SELECT model, method, count(*) AS n, count(*) FILTER (WHERE exceeded) AS exceeded, sum(duration_ms) AS total_ms
      FROM ${c.sqlSchema}.timeout_log WHERE at >= ${paramTime(1)} GROUP BY model, method`,
        [p.since],
      ),
    );
    return timeoutStats(r.rows as RawRow[]);
  });
}

/** Delete the entries before `before`; returns the count. */
export async function pgTimeoutLogCleanup(c: PgContext, p: { before: number }): Promise<number> {
  return c.read('timeoutLogCleanup', async (db) => {
    const r = await db.query(c.named(`DELETE FROM ${c.sqlSchema}.timeout_log WHERE at < ${paramTime(1)}`, [p.before]));
    return r.rowCount ?? 0;
  });
}
