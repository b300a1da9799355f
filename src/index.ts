/**
 * Conveyor: a durable job queue and timeout toolkit for Node.js (queue_job's model on SQLite or PostgreSQL).
 * @example
 * const conveyor = await Conveyor.open({ database: 'sqlite:./conveyor.db', channels: 'root:4,root.mail:2' });
 * const partners = conveyor.model('res.partner', { async sendNewsletter(job, template: string) { … } });
 * await partners.browse([1, 2]).withDelay({ priority: 5 }).sendNewsletter('welcome');
 * @module
 */
export { Conveyor, type ConveyorOptions } from './conveyor.ts';
export type { JobsApi } from './admin/jobs-api.ts';
export type { TimeoutLogApi } from './admin/timeout-log-api.ts';
export { Runner } from './runner/runner.ts';
export type { RunnerOptions } from './runner/options.ts';
export { Job } from './job/handle.ts';
export type { JobRow, JobAttempt, JobProgress } from './job/row.ts';
export type { JobContext } from './job/context.ts';
export { JOB_STATES, RUNNING_STATES, FINAL_STATES, IDENTITY_STATES, type JobState } from './job/states.ts';
export type { JobFunctionSettings, RelatedAction } from './job/settings.ts';
export type { RelatedActionView } from './job/related-action.ts';
export type { TimeoutLogEntry, TimeoutLogEntryInput, TimeoutKind } from './job/timeout-log-entry.ts';
export { Delayable, DelayableGroup, DelayableChain, chain, group, type GraphNode } from './delay/delayable.ts';
export type { DelayOptions, IdentitySource } from './delay/options.ts';
export { identityExact } from './delay/identity.ts';
export type { JobMethods, JobMethod } from './model/definition.ts';
export type { Model, RecordSet, DelayProxy, DelayableProxy } from './model/record-set.ts';
export type {
  ConveyorEvents,
  ConveyorEventName,
  EventHub,
  RemoteEvent,
  RemoteEventName,
  RemoteSubscribeOptions,
  RemoteSubscription,
} from './events.ts';
export { REMOTE_EVENT_NAMES } from './events.ts';
export type { MetricsApi, MetricFamily, MetricSample, PromRegistryLike } from './metrics/index.ts';
export { METRIC_FAMILIES, renderPrometheus } from './metrics/index.ts';
export type { Logger, LogLevel } from './internal/logger.ts';
export { createLogger } from './internal/logger.ts';
export type { Clock } from './internal/clock.ts';
export type { Duration } from './internal/duration.ts';
export { parseDuration } from './internal/duration.ts';
export { parseChannels, formatChannels, type ChannelSpec } from './channels/parse.ts';
export { ChannelTree } from './channels/tree.ts';
export type { ChannelPausesApi, ChannelPause } from './channels/pauses.ts';
export type { RetryPattern } from './retry/pattern.ts';
export type { CronOptions, CronTarget, CronInfo, CronHandle, CronsApi } from './cron/api.ts';
export type { ScheduleSpec, IntervalSpec } from './cron/schedule.ts';
export type { MaintenanceOptions } from './cron/maintenance.ts';
export type { JobFunctionInfo, JobFunctionsApi } from './admin/job-functions.ts';
export type { ResolvedCall } from './delay/resolve-call.ts';
export type { AdminApi, HealthStatus } from './admin/api.ts';
export type { ChannelLoad, ChannelLoadRow } from './admin/channel-load.ts';
export type { JobFunctionOverride, ResolvedJobFunction } from './job/settings.ts';
export type {
  Driver,
  JobFilter,
  JobListParams,
  JobPage,
  JobCountRow,
  JobGraph,
  RunnerInfo,
  TimeoutStatistics,
} from './drivers/driver.ts';
export {
  ConveyorError,
  ErrorCodes,
  type ErrorCode,
  ConfigurationError,
  ChannelConfigError,
  ValidationError,
  UnknownModelError,
  UnknownMethodError,
  DatabaseError,
  MigrationError,
  SchemaTooNewError,
  JobNotFoundError,
  InvalidStateError,
  GraphError,
  ClosedError,
  TransactionScopeError,
  JobLeaseLostError,
  TimeoutError,
  RetryableJobError,
  NothingToDoJob,
  FailedJobError,
  WaitTimeoutError,
  DatabaseNotFoundError,
  UnknownChannelError,
} from './errors.ts';
