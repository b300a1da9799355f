/**
 * The job a scheduled job enqueues: its target, arguments and options from the stored entry, the
 * job function's settings for the rest, and the `limitTimeRealCron` real-time limit unless the job
 * function sets its own `timeLimit`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ChannelTree } from '../channels/tree.ts';
import type { CronRow, NewJob } from '../drivers/driver.ts';
import { decodeJson } from '../internal/json.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import type { ModelDefinition } from '../model/definition.ts';

/** The job options a scheduled job stores (`options` column). */
export interface CronJobOptions {
  priority?: number;
  channel?: string;
  maxRetries?: number;
  description?: string;
}

/** What building a scheduled job's job needs. */
export interface CronJobContext {
  models: ReadonlyMap<string, ModelDefinition>;
  channels: ChannelTree;
  /** Real-time limit of jobs enqueued by cron (ms), unless the job function sets `timeLimit`. */
  limitTimeRealCronMs: number;
}

/** The default of `limitTimeRealCron`. */
export const DEFAULT_LIMIT_TIME_REAL_CRON = '3600s';

/** Resolve `limitTimeRealCron` (option, else `CONVEYOR_LIMIT_TIME_REAL_CRON`, else 3600 s) to ms. @throws ConfigurationError */
export function resolveLimitTimeRealCron(
  value: Duration | undefined,
  what = 'runner option limitTimeRealCron',
): number {
  return parseDuration(value ?? process.env.CONVEYOR_LIMIT_TIME_REAL_CRON ?? DEFAULT_LIMIT_TIME_REAL_CRON, what);
}

/** The stored job options of an entry (tolerates a malformed column: no options). */
export function cronJobOptions(row: Pick<CronRow, 'options'>): CronJobOptions {
  const o = decodeJson(row.options);
  return o && typeof o === 'object' && !Array.isArray(o) ? (o as CronJobOptions) : {};
}

/**
 * The job to enqueue for `row`: at `slotAt` (a slot), or null for a run-now. Settings come from the
 * entry's options, then the job function (when its model is defined in this process), then the defaults.
 */
export function cronNewJob(row: CronRow, ctx: CronJobContext, slotAt: number | null): NewJob {
  const fn = ctx.models.get(row.model)?.settings.get(row.method);
  const o = cronJobOptions(row);
  const base = o.description ?? fn?.description ?? `${row.model}.${row.method}`;
  return {
    uuid: randomUUID(),
    graphUuid: null,
    model: row.model,
    method: row.method,
    records: row.records,
    args: row.args,
    priority: o.priority ?? fn?.priority ?? 10,
    eta: null,
    channel: ctx.channels.path(o.channel ?? fn?.channel ?? 'root').at(-1)!.name,
    maxRetries: o.maxRetries ?? fn?.maxRetries ?? 5,
    description: `${base} (scheduled ${row.name}, ${slotAt === null ? 'run now' : new Date(slotAt).toISOString()})`,
    identityKey: null,
    context: null,
    timeLimitMs: fn?.timeLimitMs ?? ctx.limitTimeRealCronMs,
  };
}
