/**
 * What a runner needs from its Conveyor (the Conveyor is one; a test may build another).
 * @module
 */
import type { ChannelTree } from '../channels/tree.ts';
import type { ContextApi } from '../context.ts';
import type { Driver } from '../drivers/driver.ts';
import type { EventHub } from '../events.ts';
import type { Clock } from '../internal/clock.ts';
import type { Logger } from '../internal/logger.ts';
import type { Telemetry } from '../internal/telemetry.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { ModelDefinition } from '../model/definition.ts';

/** What a runner needs from its Conveyor. */
export interface RunnerHost {
  /** The storage driver every claim, write and heartbeat goes through. */
  readonly driver: Driver;
  /** The channel capacities (unless the runner's `channels` option overrides them). */
  readonly channels: ChannelTree;
  readonly logger: Logger;
  /** The clock of the times the runner stores. */
  readonly clock: Clock;
  /** The ambient context a job runs in. */
  readonly context: ContextApi;
  /** Where the runner's and its jobs' events go. */
  readonly events: EventHub;
  /** The models whose methods the jobs call. */
  readonly models: ReadonlyMap<string, ModelDefinition>;
  /** The timeout log (rows of runs stopped by a time limit). */
  readonly timeoutLog: { record(entry: TimeoutLogEntryInput): Promise<number> };
  /** OpenTelemetry spans (null or absent when `@opentelemetry/api` is not installed). */
  readonly telemetry?: Telemetry | null;
  /** Reload job function overrides stored by operators (called on every heartbeat). */
  loadJobFunctionOverrides?(): Promise<void>;
}
