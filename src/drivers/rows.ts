/**
 * Mapping stored rows (snake_case columns) to {@link JobRow}, shared by both drivers.
 * @module
 */
import { fromJsonTree, decodeJson } from '../internal/json.ts';
import type { JobAttempt, JobProgress, JobRow } from '../job/row.ts';
import type { JobState } from '../job/states.ts';
import type { TimeoutLogEntry } from '../job/timeout-log-entry.ts';
import type { CronRow } from './types/cron.ts';

/** A raw row as a driver reads it; JSON columns are text (SQLite) or parsed values (PostgreSQL jsonb). */
export type RawRow = Record<string, unknown>;

function json(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return decodeJson(v) ?? null;
  return fromJsonTree(v);
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

/** Convert a raw job row into a {@link JobRow}. */
export function rowToJob(r: RawRow): JobRow {
  return {
    id: Number(r.id),
    uuid: r.uuid as string,
    graphUuid: (r.graph_uuid as string | null) ?? null,
    model: r.model as string,
    method: r.method as string,
    records: (json(r.records) as unknown[] | null) ?? [],
    args: (json(r.args) as unknown[] | null) ?? [],
    state: r.state as JobState,
    priority: Number(r.priority),
    eta: num(r.eta),
    channel: r.channel as string,
    attempt: Number(r.attempt),
    maxRetries: Number(r.max_retries),
    crashCount: Number(r.crash_count),
    result: json(r.result),
    excName: (r.exc_name as string | null) ?? null,
    excMessage: (r.exc_message as string | null) ?? null,
    excInfo: (r.exc_info as string | null) ?? null,
    description: r.description as string,
    identityKey: (r.identity_key as string | null) ?? null,
    context: (json(r.context) as Record<string, unknown> | null) ?? null,
    progress: (json(r.progress) as JobProgress | null) ?? null,
    checkpoint: json(r.checkpoint) ?? undefined,
    timeLimitMs: num(r.time_limit_ms),
    createdAt: Number(r.created_at),
    enqueuedAt: num(r.enqueued_at),
    startedAt: num(r.started_at),
    doneAt: num(r.done_at),
    cancelledAt: num(r.cancelled_at),
    execTimeMs: num(r.exec_time_ms),
    runnerId: (r.runner_id as string | null) ?? null,
    hasDependants: r.has_dependants === true || r.has_dependants === 1 || r.has_dependants === 1n,
  };
}

/** Convert a raw attempt row. */
export function rowToAttempt(r: RawRow): JobAttempt {
  return {
    jobId: Number(r.job_id),
    attempt: Number(r.attempt),
    runnerId: (r.runner_id as string | null) ?? null,
    startedAt: num(r.started_at),
    endedAt: Number(r.ended_at),
    outcome: r.outcome as string,
    excName: (r.exc_name as string | null) ?? null,
    excMessage: (r.exc_message as string | null) ?? null,
    excInfo: (r.exc_info as string | null) ?? null,
  };
}

/** Convert a raw timeout log row (both dialects). */
export function rowToTimeoutEntry(r: RawRow): TimeoutLogEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    operation: r.operation as string,
    kind: r.kind as TimeoutLogEntry['kind'],
    model: (r.model as string | null) ?? null,
    method: (r.method as string | null) ?? null,
    jobId: r.job_id === null || r.job_id === undefined ? null : Number(r.job_id),
    thresholdMs: Number(r.threshold_ms),
    durationMs: Number(r.duration_ms),
    exceeded: r.exceeded === true || Number(r.exceeded) === 1,
    error: (r.error as string | null) ?? null,
    host: (r.host as string | null) ?? null,
  };
}

/** Convert a raw scheduled-job row (both dialects; JSON columns arrive as text). */
export function rowToCron(r: RawRow): CronRow {
  return {
    name: r.name as string,
    schedule: r.schedule as string,
    timezone: (r.timezone as string | null) ?? null,
    model: r.model as string,
    method: r.method as string,
    records: r.records as string,
    args: r.args as string,
    options: r.options as string,
    catchUp: r.catch_up as CronRow['catchUp'],
    paused: r.paused === true || Number(r.paused) === 1,
    nextRunAt: num(r.next_run_at),
    lastRunAt: num(r.last_run_at),
    lastJobId: num(r.last_job_id),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}
