/**
 * The admin interface: everything the dashboard (and any other admin tool) may read and do, as types.
 * A `Conveyor` implements it; the dashboard depends on this interface, never on `Conveyor` itself, so
 * the core never imports the dashboard and "the dashboard uses the public admin API only" is checked
 * by the compiler.
 * @module
 */
import type { ChannelPausesApi } from '../channels/pauses.ts';
import type { ChannelTree } from '../channels/tree.ts';
import type { CronsApi } from '../cron/api.ts';
import type { RunnerInfo } from '../drivers/driver.ts';
import type { Clock } from '../internal/clock.ts';
import type { Logger } from '../internal/logger.ts';
import type { MetricsApi } from '../metrics/api.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { ChannelLoad } from './channel-load.ts';
import type { JobFunctionsApi } from './job-functions.ts';
import type { JobsApi } from './jobs-api.ts';
import type { TimeoutLogApi } from './timeout-log-api.ts';

/** What `conveyor.health()` reports (the dashboard serves it as `/healthz`). */
export type HealthStatus =
  | {
      /** The database answers and holds a Conveyor schema. */
      status: 'ok';
      /** The storage in use. */
      database: 'sqlite' | 'postgres';
      /** The schema version stored in the database. */
      schemaVersion: number;
    }
  | {
      /** The Conveyor is closed or its database does not answer. */
      status: 'error';
      /** What went wrong. */
      error: string;
    };

/** The public admin API of a Conveyor, as the dashboard uses it. */
export interface AdminApi {
  /** The admin API on jobs. */
  readonly jobs: JobsApi;
  /** The configured channel tree. */
  readonly channels: ChannelTree;
  /** The model definitions, by name (job functions and their settings). */
  readonly models: ReadonlyMap<string, ModelDefinition>;
  /** The clock (the dashboard's "now"). */
  readonly clock: Clock;
  /** The logger. */
  readonly logger: Logger;
  /** The timeout log. */
  readonly timeoutLog: TimeoutLogApi;
  /** Job functions as data. */
  readonly jobFunctions: JobFunctionsApi;
  /** Scheduled jobs stored in the database. */
  readonly crons: CronsApi;
  /** Runtime channel pauses. */
  readonly channelPauses: ChannelPausesApi;
  /** Prometheus metrics. */
  readonly metrics: MetricsApi;
  /** Runners registered in the database (all processes). */
  runners(): Promise<RunnerInfo[]>;
  /** The load of every channel (tree, running, pending and failed jobs per channel). */
  channelLoad(): Promise<ChannelLoad>;
  /** Whether the Conveyor is open and its database answers; never throws. */
  health(): Promise<HealthStatus>;
}
