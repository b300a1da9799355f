/**
 * Options of the dashboard and the seams through which features built elsewhere plug in: scheduled
 * jobs (cron) and editable job-function settings. Without a source, the pages show "no scheduled jobs"
 * and read-only settings taken from the models.
 * @module
 */
import type { Conveyor } from '../conveyor.ts';
import type { RetryPattern } from '../retry/pattern.ts';

/** Basic-auth credentials. */
export interface BasicAuthCredentials {
  username: string;
  password: string;
}

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
  list(): Promise<readonly ScheduledJobInfo[]> | readonly ScheduledJobInfo[];
  pause?(name: string): Promise<void>;
  resume?(name: string): Promise<void>;
  /** Enqueue one run now; returns the job id when known. */
  runNow?(name: string): Promise<number | null | void>;
}

/** A job function (model.method) and its settings, as the Job functions page shows them. */
export interface JobFunctionInfo {
  model: string;
  method: string;
  channel: string;
  maxRetries: number;
  retryPattern: RetryPattern | null;
  timeLimitMs: number | null;
  retryOnTimeout: boolean;
  priority: number;
  description: string | null;
  /** Whether a related action is enabled, and its URL template when it is a string. */
  relatedAction: { enable: boolean; url: string | null; custom: boolean };
}

/** The editable subset of a job function's settings. */
export interface JobFunctionPatch {
  channel?: string;
  maxRetries?: number;
  retryPattern?: RetryPattern | null;
  timeLimitMs?: number | null;
  priority?: number;
}

/** Where the Job functions page reads from; with `update`, the settings become editable. */
export interface JobFunctionsSource {
  list(): Promise<readonly JobFunctionInfo[]> | readonly JobFunctionInfo[];
  update?(model: string, method: string, patch: JobFunctionPatch): Promise<void>;
}

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** Path prefix where the handler is mounted (`'/admin/queue'`); links use it. @default '' */
  basePath?: string;
  /** Hide every action and refuse every POST. @default false */
  readOnly?: boolean;
  /** Require this token: `Authorization: Bearer <token>`, or `?token=` once (sets a session cookie). */
  token?: string;
  /** Require these basic-auth credentials. */
  basicAuth?: BasicAuthCredentials;
  /** Secret for CSRF and session cookies; share it between instances behind a load balancer. @default random per handler */
  secret?: string;
  /** Live refresh period of the pages, seconds; 0 turns it off. @default 2 */
  refreshSeconds?: number;
  /** Title in the header. @default 'Conveyor' */
  title?: string;
  /** IANA time zone of the displayed times. @default 'UTC' */
  timeZone?: string;
  /** Source of the Scheduled jobs page. @default none ("no scheduled jobs") */
  scheduledJobs?: ScheduledJobsSource;
  /** Source of the Job functions page. @default read-only settings of `conveyor.models` */
  jobFunctions?: JobFunctionsSource;
  /** Most timeout-log rows read to draw the chart. @default 20000 */
  chartRowLimit?: number;
}

/** Options of {@link serveDashboard}: the handler's options plus where to listen. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** Interface to bind. Anything but a loopback address requires `token` or `basicAuth`. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
}

/** Job function settings read from the model definitions (read-only). */
export function jobFunctionsFromModels(conveyor: Conveyor): JobFunctionsSource {
  return {
    list: () => {
      const out: JobFunctionInfo[] = [];
      for (const def of conveyor.models.values()) {
        for (const [method, s] of def.settings) {
          const url = s.relatedAction.url;
          out.push({
            model: def.name,
            method,
            channel: s.channel,
            maxRetries: s.maxRetries,
            retryPattern: s.retryPattern,
            timeLimitMs: s.timeLimitMs,
            retryOnTimeout: s.retryOnTimeout,
            priority: s.priority,
            description: s.description,
            relatedAction: {
              enable: s.relatedAction.enable !== false,
              url: typeof url === 'string' ? url : null,
              custom: typeof url === 'function',
            },
          });
        }
      }
      return out.sort((a, b) => a.model.localeCompare(b.model) || a.method.localeCompare(b.method));
    },
    // edits are stored as job function overrides (conveyor.jobFunctions), shared by every process
    update: async (model, method, patch) => {
      const o: Record<string, unknown> = {};
      if (patch.channel !== undefined) o.channel = patch.channel;
      if (patch.maxRetries !== undefined) o.maxRetries = patch.maxRetries;
      if (patch.retryPattern !== undefined) o.retryPattern = patch.retryPattern;
      if (patch.timeLimitMs !== undefined) o.timeLimit = patch.timeLimitMs;
      if (patch.priority !== undefined) o.priority = patch.priority;
      await conveyor.jobFunctions.update(`${model}.${method}`, o);
    },
  };
}
