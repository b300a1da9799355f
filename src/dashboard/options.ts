/**
 * Options of the dashboard. The data sources of its Scheduled jobs and Job functions pages are
 * defined with the admin API (`admin/sources.ts`) and re-exported here: without a source, the pages
 * show "no scheduled jobs" and read-only settings taken from the models.
 * @module
 */
import type { JobFunctionsSource, JobFunctionView, ScheduledJobsSource } from '../admin/sources.ts';

export type {
  JobFunctionPatch,
  JobFunctionsSource,
  JobFunctionView,
  ScheduledJobInfo,
  ScheduledJobsSource,
} from '../admin/sources.ts';

/**
 * A job function as the Job functions page shows it.
 * @deprecated Renamed {@link JobFunctionView}: the admin API's `JobFunctionInfo` (from `conveyor-queue`)
 *   is a different shape.
 */
export type JobFunctionInfo = JobFunctionView;

/** Basic-auth credentials. */
export interface BasicAuthCredentials {
  /** User name (no `:`). */
  username: string;
  /** Password. */
  password: string;
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
