/**
 * The job time limits: how long one run of a job may take before the runner stops it (`limitTimeReal`,
 * `limitTimeRealCron` for runs of scheduled jobs, a job function's `timeLimit`, a job's own limit).
 * Not to be confused with `src/timeouts/`, the timeout toolkit a job's code calls itself
 * (`withTimeout`, the decorators): those limit a step inside a run; these limit the run.
 * @module
 */
import { parseDuration, type Duration } from '../internal/duration.ts';
import type { JobRow } from '../job/row.ts';

/** Default wall-clock limit of one run: 1200 s, Odoo's `limit_time_real`. */
export const DEFAULT_LIMIT_TIME_REAL = '1200s';

/** Resolve `limitTimeReal` (option, else `CONVEYOR_LIMIT_TIME_REAL`, else 1200 s) to ms. @throws ConfigurationError */
export function resolveLimitTimeReal(value: Duration | undefined): number {
  return parseDuration(
    value ?? process.env.CONVEYOR_LIMIT_TIME_REAL ?? DEFAULT_LIMIT_TIME_REAL,
    'runner option limitTimeReal',
  );
}

/**
 * The time limit of a run (ms): the job's own (set at enqueue; a scheduled job's run gets
 * `limitTimeRealCron` there), else its job function's `timeLimit`, else the runner's `limitTimeReal`.
 */
export function runTimeLimitMs(
  job: Pick<JobRow, 'timeLimitMs'>,
  settings: { readonly timeLimitMs: number | null } | undefined,
  runnerLimitMs: number,
): number {
  return job.timeLimitMs ?? settings?.timeLimitMs ?? runnerLimitMs;
}
