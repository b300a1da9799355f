/**
 * The data sources of the dashboard's Scheduled jobs and Job functions pages: small interfaces that
 * features built elsewhere implement (the cron API, the job-function overrides), so neither the core
 * nor the cron module depends on the dashboard.
 * @module
 */
import type { RetryPattern } from '../retry/pattern.ts';

/** A scheduled job (cron entry) as the dashboard shows it. */
export interface ScheduledJobInfo {
  /** Unique name. */
  name: string;
  /** `every 1w` or a cron expression. */
  schedule: string;
  /** What it runs (`model.method`). */
  target: string;
  /** Next occurrence (ms epoch), when known. */
  nextRunAt: number | null;
  /** Last occurrence that ran (ms epoch), when known. */
  lastRunAt: number | null;
  /** Job id of the last run, when known. */
  lastJobId?: number | null;
  /** Paused entries do not run. */
  paused: boolean;
}

/**
 * Where the Scheduled jobs page reads from. `pause`/`resume`/`runNow` are optional: without them the
 * page offers no buttons.
 */
export interface ScheduledJobsSource {
  /** Every entry. */
  list(): Promise<readonly ScheduledJobInfo[]> | readonly ScheduledJobInfo[];
  /** Pause an entry. */
  pause?(name: string): Promise<void>;
  /** Resume a paused entry. */
  resume?(name: string): Promise<void>;
  /** Enqueue one run now; returns the job id when known. */
  runNow?(name: string): Promise<number | null | void>;
}

/**
 * A job function (model.method) and its settings, as the Job functions page shows them (flat and
 * display-ready; the admin API's `JobFunctionInfo` holds the code, override and effective settings).
 */
export interface JobFunctionView {
  /** Model name. */
  model: string;
  /** Method name. */
  method: string;
  /** Channel of its jobs. */
  channel: string;
  /** Most runs of a job (0 = unlimited). */
  maxRetries: number;
  /** Delays between retries; null = the default. */
  retryPattern: RetryPattern | null;
  /** Time limit of a run; null = the runner's. */
  timeLimitMs: number | null;
  /** Whether a run stopped by its time limit is retried. */
  retryOnTimeout: boolean;
  /** Priority of its jobs (lower runs first). */
  priority: number;
  /** Description of its jobs. */
  description: string | null;
  /** Whether a related action is enabled, and its URL template when it is a string. */
  relatedAction: { enable: boolean; url: string | null; custom: boolean };
}

/** The editable subset of a job function's settings. */
export interface JobFunctionPatch {
  /** Channel of its jobs. */
  channel?: string;
  /** Most runs of a job. */
  maxRetries?: number;
  /** Delays between retries; null = the default. */
  retryPattern?: RetryPattern | null;
  /** Time limit of a run; null = the runner's. */
  timeLimitMs?: number | null;
  /** Priority of its jobs. */
  priority?: number;
}

/** Where the Job functions page reads from; with `update`, the settings become editable. */
export interface JobFunctionsSource {
  /** Every job function. */
  list(): Promise<readonly JobFunctionView[]> | readonly JobFunctionView[];
  /** Store a change of a job function's settings. */
  update?(model: string, method: string, patch: JobFunctionPatch): Promise<void>;
}
