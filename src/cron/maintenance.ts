/**
 * Built-in scheduled jobs, as ordinary jobs of the model `conveyor.maintenance` (visible in the job
 * list, the dashboard and `conveyor.crons.list()`): weekly timeout-log cleanup and daily retention of
 * done/cancelled jobs. Registered by `Conveyor.open` unless `maintenance: false`.
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';
import { checkInt, checkOptions } from '../internal/options.ts';
import type { JobContext } from '../job/context.ts';
import type { JobFunctionSettings } from '../job/settings.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { resolveCron, type ResolvedCron } from './api.ts';

/** Options of the built-in scheduled jobs (`Conveyor.open({ maintenance })`). */
export interface MaintenanceOptions {
  /** The weekly `conveyor.timeout_log_cleanup` deletes timeout log rows older than this. @default 30 */
  timeoutLogDays?: number;
  /** The daily `conveyor.job_retention` deletes done and cancelled jobs older than this. @default 30 */
  jobRetentionDays?: number;
}

/** The model of the built-in jobs. */
export const MAINTENANCE_MODEL = 'conveyor.maintenance';

/** Names of the built-in scheduled jobs. */
export const BUILT_IN_CRONS = {
  timeoutLogCleanup: 'conveyor.timeout_log_cleanup',
  jobRetention: 'conveyor.job_retention',
} as const;

/** Validate `maintenance`; false when disabled. @throws ConfigurationError */
export function checkMaintenanceOptions(value: unknown): Required<MaintenanceOptions> | false {
  if (value === false) return false;
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new ConfigurationError(
      `Conveyor.open(): maintenance must be false or { timeoutLogDays, jobRetentionDays }, got ${describeValue(value)}`,
    );
  }
  checkOptions(value, ['timeoutLogDays', 'jobRetentionDays'], 'Conveyor.open(): maintenance');
  const o = (value ?? {}) as MaintenanceOptions;
  return {
    timeoutLogDays: checkInt(o.timeoutLogDays ?? 30, 'Conveyor.open(): maintenance.timeoutLogDays', 1, 36_500),
    jobRetentionDays: checkInt(o.jobRetentionDays ?? 30, 'Conveyor.open(): maintenance.jobRetentionDays', 1, 36_500),
  };
}

/** What the built-in jobs call. */
export interface MaintenanceHost {
  readonly timeoutLog: { cleanup(p: { days?: number }): Promise<number> };
  readonly jobs: { prune(p: { days?: number }): Promise<number> };
}

/** The methods of `conveyor.maintenance`. */
export function maintenanceMethods(host: MaintenanceHost) {
  return {
    /** Delete timeout log rows older than `days`. */
    async timeoutLogCleanup(job: JobContext, days: number): Promise<{ deleted: number; days: number }> {
      const deleted = await host.timeoutLog.cleanup({ days });
      job.logger.info({ deleted, days }, `timeout log cleanup: ${deleted} row(s) older than ${days} days deleted`);
      return { deleted, days };
    },
    /** Delete done and cancelled jobs older than `days`. */
    async jobRetention(job: JobContext, days: number): Promise<{ deleted: number; days: number }> {
      const deleted = await host.jobs.prune({ days });
      job.logger.info(
        { deleted, days },
        `job retention: ${deleted} done/cancelled job(s) older than ${days} days deleted`,
      );
      return { deleted, days };
    },
  };
}

/** Settings of the methods of `conveyor.maintenance`. */
export const MAINTENANCE_SETTINGS: Record<keyof ReturnType<typeof maintenanceMethods>, JobFunctionSettings> = {
  timeoutLogCleanup: { description: 'Timeout log cleanup', maxRetries: 3 },
  jobRetention: { description: 'Job retention', maxRetries: 3 },
};

/** The built-in entries for `options`. */
export function maintenanceCrons(
  models: ReadonlyMap<string, ModelDefinition>,
  options: Required<MaintenanceOptions>,
): ResolvedCron[] {
  return [
    resolveCron(
      models,
      BUILT_IN_CRONS.timeoutLogCleanup,
      { every: '1w' },
      `${MAINTENANCE_MODEL}.timeoutLogCleanup`,
      [options.timeoutLogDays],
      undefined,
      true,
    ),
    resolveCron(
      models,
      BUILT_IN_CRONS.jobRetention,
      { every: '1d' },
      `${MAINTENANCE_MODEL}.jobRetention`,
      [options.jobRetentionDays],
      undefined,
      true,
    ),
  ];
}
