/**
 * SQLite storage of the timeout log (`conveyor_timeout_log`): what the timeout toolkit records about
 * timed operations, listed and summed up for the dashboard.
 * @module
 */
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import { rowToTimeoutEntry, type RawRow } from '../rows.ts';
import { timeoutStats } from '../shared/timeout-stats.ts';
import type { TimeoutLogListParams, TimeoutStatistics } from '../types/timeout-log.ts';
import type { SqliteContext, SqlValue } from './context.ts';

/** Record one timed operation; returns the entry's id. */
export async function sqliteTimeoutLogInsert(
  c: SqliteContext,
  e: TimeoutLogEntryInput & { at: number; host: string | null },
): Promise<number> {
  return c.tx('timeoutLogInsert', () =>
    Number(
      c
        .statement(
          `INSERT INTO conveyor_timeout_log (at, operation, kind, model, method, job_id, threshold_ms, duration_ms, exceeded, error, host)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          e.at,
          e.operation,
          e.kind,
          e.model ?? null,
          e.method ?? null,
          e.jobId ?? null,
          Math.round(e.thresholdMs),
          Math.round(e.durationMs),
          e.exceeded ? 1 : 0,
          e.error ?? null,
          e.host,
        ).lastInsertRowid,
    ),
  );
}

/** Entries, newest first, filtered; `cursor` is the last id of the previous page. */
export async function sqliteTimeoutLogList(c: SqliteContext, p: TimeoutLogListParams): Promise<TimeoutLogEntry[]> {
  return c.read('timeoutLogList', () => {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (p.since !== undefined) {
      where.push('at >= ?');
      params.push(p.since);
    }
    if (p.model !== undefined) {
      where.push('model = ?');
      params.push(p.model);
    }
    if (p.method !== undefined) {
      where.push('method = ?');
      params.push(p.method);
    }
    if (p.kind !== undefined) {
      where.push('kind = ?');
      params.push(p.kind);
    }
    if (p.cursor) {
      where.push('id < ?');
      params.push(p.cursor);
    }
    params.push(p.limit);
    const rows = c.db
      .prepare(
        `SELECT * FROM conveyor_timeout_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`,
      )
      .all(...params) as RawRow[];
    return rows.map(rowToTimeoutEntry);
  });
}

/** Counts and average durations since `since`, overall, by model and by method. */
export async function sqliteTimeoutLogStatistics(c: SqliteContext, p: { since: number }): Promise<TimeoutStatistics> {
  return c.read('timeoutLogStatistics', () =>
    timeoutStats(
      c.all(
        `SELECT model, method, count(*) AS n, sum(exceeded) AS exceeded, sum(duration_ms) AS total_ms
     FROM conveyor_timeout_log WHERE at >= ? GROUP BY model, method`,
        p.since,
      ),
    ),
  );
}

/** Delete the entries before `before`; returns the count. */
export async function sqliteTimeoutLogCleanup(c: SqliteContext, p: { before: number }): Promise<number> {
  return c.tx('timeoutLogCleanup', () => c.run('DELETE FROM conveyor_timeout_log WHERE at < ?', p.before));
}
