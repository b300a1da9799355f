/**
 * The scheduled jobs API behind `conveyor.cron(...)` and `conveyor.crons`: validation of a definition
 * (synchronous, so a bad schedule fails where it is written), idempotent registration (upsert: the code
 * is the source of truth for schedule, target, arguments and options; pausing is the operator's and
 * survives a redeploy), list, pause, resume, run now, delete.
 * @module
 */
import type { ChannelTree } from '../channels/tree.ts';
import { normalizeChannelName } from '../channels/parse.ts';
import type { ScheduledJobsSource } from '../admin/sources.ts';
import type { CronCatchUp, CronDef, CronRow, Driver } from '../drivers/driver.ts';
import { ConfigurationError, ValidationError, describeValue } from '../errors.ts';
import type { Clock } from '../internal/clock.ts';
import { decodeJson, encodeJson } from '../internal/json.ts';
import { checkInt, checkOptions } from '../internal/options.ts';
import type { Job } from '../job/handle.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { resolveMethodRef, type ResolvedMethodRef } from '../model/method-ref.ts';
import { cronJobOptions, cronNewJob, type CronJobOptions } from './job.ts';
import { parseSchedule, type Schedule, type ScheduleSpec } from './schedule.ts';

/** Options of `conveyor.cron()`. Unknown keys are an error. */
export interface CronOptions {
  /** IANA time zone of a cron expression. @default 'UTC' */
  timezone?: string;
  /** Priority of the jobs. @default the job function's */
  priority?: number;
  /** Channel of the jobs. @default the job function's */
  channel?: string;
  /** Max runs of each job. @default the job function's */
  maxRetries?: number;
  /** Description of the jobs (the slot is appended). @default the job function's */
  description?: string;
  /**
   * Slots missed while no runner was up (or the runners were late by more than a minute):
   * `false` skips them (the default, like Odoo's `doall = False`), `'one'` runs once for all of them,
   * `'all'` runs each one (at most 1000 per pass).
   */
  catchUp?: false | 'one' | 'all';
}

const OPTION_KEYS = ['timezone', 'priority', 'channel', 'maxRetries', 'description', 'catchUp'];

/** What a scheduled job runs: a model method (`partners.sendNewsletter`, `partners.browse([1]).sendNewsletter`) or `'model.method'`. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type CronTarget = string | ((...args: never[]) => unknown);

/** A scheduled job as the API shows it. */
export interface CronInfo {
  name: string;
  /** The canonical schedule: a cron expression, or `every 1w` (`every 15m from <ISO>` with an anchor). */
  schedule: string;
  /** Time zone of a cron expression; null = UTC. */
  timezone: string | null;
  /** `model.method`. */
  target: string;
  model: string;
  method: string;
  records: unknown[];
  args: unknown[];
  /** Job options given to `cron()` (absent keys come from the job function). */
  options: CronJobOptions;
  catchUp: false | 'one' | 'all';
  paused: boolean;
  /** Next slot (ms since the epoch). */
  nextRunAt: number | null;
  /** Slot of the last job enqueued (for a run-now: when it was enqueued). */
  lastRunAt: number | null;
  lastJobId: number | null;
  /** A built-in entry (`conveyor.*`, registered by `Conveyor.open`). */
  builtIn: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A handle on one scheduled job. */
export interface CronHandle {
  readonly name: string;
  /** The stored entry, or null once deleted. */
  info(): Promise<CronInfo | null>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Enqueue one job now, independent of the slots. */
  runNow(): Promise<Job>;
  /** Delete the entry (it comes back if code registers it again). */
  delete(): Promise<boolean>;
}

/** `conveyor.crons`: every scheduled job in the database (from all processes). */
export interface CronsApi {
  list(): Promise<CronInfo[]>;
  get(name: string): Promise<CronInfo | null>;
  /** Stop firing (kept across redeploys until resumed). @throws ValidationError for an unknown name */
  pause(name: string): Promise<void>;
  /** Fire again from the next slot: slots while paused are not replayed. @throws ValidationError for an unknown name */
  resume(name: string): Promise<void>;
  /** Enqueue one job now, independent of slots (also when paused). @throws ValidationError for an unknown name */
  runNow(name: string): Promise<Job>;
  /** Delete the entry and its fired slots; false when unknown. */
  delete(name: string): Promise<boolean>;
}

/** What the API needs from its Conveyor. */
export interface CronHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly channels: ChannelTree;
  readonly models: ReadonlyMap<string, ModelDefinition>;
  /** `limitTimeRealCron` for run-now jobs enqueued from this process (ms). */
  limitTimeRealCronMs(): number;
  /** A handle on a job just enqueued. */
  jobHandle(id: number, uuid: string): Job;
  /** Scheduled jobs changed: local runners' schedulers read them again; other processes get a wake-up. */
  cronsChanged(): void;
}

/** Names of the built-in entries start with this; `cron()` refuses it for user entries. */
export const BUILT_IN_PREFIX = 'conveyor.';

/** A validated definition, ready for {@link Driver.cronUpsert} (with `nextRunAt` from `schedule`). */
export interface ResolvedCron {
  def: Omit<CronDef, 'nextRunAt'>;
  schedule: Schedule;
}

/** A scheduled job's target as a model, method and records (a definition error is a ConfigurationError). */
function resolveTarget(models: ReadonlyMap<string, ModelDefinition>, target: unknown, what: string): ResolvedMethodRef {
  return resolveMethodRef(models, target, {
    what,
    noun: 'target',
    invalid: (message) => new ConfigurationError(message),
    objects: false,
  });
}

/** Check a scheduled job's name. @throws ConfigurationError */
export function checkCronName(name: unknown, builtIn = false): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this check rejects
  if (typeof name !== 'string' || !name.trim() || name.length > 200 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ConfigurationError(
      `cron(): the name must be a non-empty string of at most 200 printable characters, got ${describeValue(name)}`,
    );
  }
  if (!builtIn && name.startsWith(BUILT_IN_PREFIX)) {
    throw new ConfigurationError(
      `cron('${name}'): names starting with '${BUILT_IN_PREFIX}' are reserved for Conveyor's built-in scheduled jobs`,
    );
  }
  return name;
}

/**
 * Validate a definition (synchronously).
 * @throws ConfigurationError on a bad name, schedule, target or option (naming it), ValidationError on non-serialisable args
 */
export function resolveCron(
  models: ReadonlyMap<string, ModelDefinition>,
  name: unknown,
  spec: ScheduleSpec,
  target: CronTarget,
  args: readonly unknown[] | undefined,
  options: CronOptions | undefined,
  builtIn = false,
): ResolvedCron {
  const n = checkCronName(name, builtIn);
  const what = `cron('${n}')`;
  checkOptions(options, OPTION_KEYS, `${what} options`);
  const o = options ?? {};
  let schedule: Schedule;
  try {
    schedule = parseSchedule(spec, { timezone: o.timezone });
  } catch (err) {
    if (err instanceof ConfigurationError)
      throw new ConfigurationError(`${what}: ${err.message}`, { cause: err, details: err.details });
    throw err;
  }
  const t = resolveTarget(models, target, what);
  if (args !== undefined && !Array.isArray(args))
    throw new ConfigurationError(
      `${what}: args must be an array (the method's arguments after the job), got ${describeValue(args)}`,
    );
  const jobOptions: CronJobOptions = {};
  if (o.priority !== undefined)
    jobOptions.priority = checkInt(o.priority, `${what}: priority`, -2147483648, 2147483647);
  if (o.maxRetries !== undefined) jobOptions.maxRetries = checkInt(o.maxRetries, `${what}: maxRetries`, 0);
  if (o.channel !== undefined) {
    if (typeof o.channel !== 'string')
      throw new ConfigurationError(`${what}: channel must be a string, got ${describeValue(o.channel)}`);
    jobOptions.channel = normalizeChannelName(o.channel);
  }
  if (o.description !== undefined) {
    if (typeof o.description !== 'string')
      throw new ConfigurationError(`${what}: description must be a string, got ${describeValue(o.description)}`);
    jobOptions.description = o.description;
  }
  let catchUp: CronCatchUp;
  if (o.catchUp === undefined || o.catchUp === false) catchUp = 'none';
  else if (o.catchUp === 'one' || o.catchUp === 'all') catchUp = o.catchUp;
  else throw new ConfigurationError(`${what}: catchUp must be false, 'one' or 'all', got ${describeValue(o.catchUp)}`);
  return {
    schedule,
    def: {
      name: n,
      schedule: schedule.text,
      timezone: schedule.timezone,
      model: t.model,
      method: t.method,
      records: encodeJson(t.records, 'records'),
      args: encodeJson(args ?? [], 'args'),
      options: JSON.stringify(jobOptions),
      catchUp,
    },
  };
}

/** A stored entry as the API shows it. */
export function cronInfo(row: CronRow): CronInfo {
  const list = (text: string): unknown[] => {
    try {
      const v = decodeJson(text);
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  };
  return {
    name: row.name,
    schedule: row.schedule,
    timezone: row.timezone,
    target: `${row.model}.${row.method}`,
    model: row.model,
    method: row.method,
    records: list(row.records),
    args: list(row.args),
    options: cronJobOptions(row),
    catchUp: row.catchUp === 'none' ? false : row.catchUp,
    paused: row.paused,
    nextRunAt: row.nextRunAt,
    lastRunAt: row.lastRunAt,
    lastJobId: row.lastJobId,
    builtIn: row.name.startsWith(BUILT_IN_PREFIX),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Store a validated definition (idempotent) and return its handle. */
export async function registerCron(host: CronHost, api: CronsApi, resolved: ResolvedCron): Promise<CronHandle> {
  const now = host.clock.now();
  const next = resolved.schedule.next(now);
  await host.driver.cronUpsert({ ...resolved.def, nextRunAt: Number.isFinite(next) ? next : null, now });
  host.cronsChanged();
  return cronHandle(api, resolved.def.name);
}

/** A handle on the entry `name`. */
export function cronHandle(api: CronsApi, name: string): CronHandle {
  return {
    name,
    info: () => api.get(name),
    pause: () => api.pause(name),
    resume: () => api.resume(name),
    runNow: () => api.runNow(name),
    delete: () => api.delete(name),
  };
}

function unknown(name: string): ValidationError {
  return new ValidationError(`no scheduled job named ${typeof name === 'string' ? `'${name}'` : describeValue(name)}`, {
    details: { cron: name },
  });
}

/** Build `conveyor.crons`. */
export function createCronsApi(host: CronHost): CronsApi {
  const { driver } = host;
  const get = async (name: string): Promise<CronRow> => {
    const row = await driver.cronGet(name);
    if (!row) throw unknown(name);
    return row;
  };
  return {
    list: async () => (await driver.cronList()).map(cronInfo),
    get: async (name) => {
      const row = await driver.cronGet(name);
      return row ? cronInfo(row) : null;
    },
    pause: async (name) => {
      if (!(await driver.cronSetPaused({ name, paused: true, now: host.clock.now() }))) throw unknown(name);
      host.cronsChanged();
    },
    resume: async (name) => {
      const row = await get(name);
      if (!row.paused) return;
      const now = host.clock.now();
      const next = parseSchedule(row.schedule, { timezone: row.timezone }).next(now);
      if (!(await driver.cronSetPaused({ name, paused: false, nextRunAt: Number.isFinite(next) ? next : null, now })))
        throw unknown(name);
      host.cronsChanged();
    },
    runNow: async (name) => {
      const row = await get(name);
      const job = cronNewJob(
        row,
        { models: host.models, channels: host.channels, limitTimeRealCronMs: host.limitTimeRealCronMs() },
        null,
      );
      const r = await driver.cronFire({ name, slotAt: null, now: host.clock.now(), nextRunAt: null, job });
      if (!r.fired || r.jobId === null) throw unknown(name);
      return host.jobHandle(r.jobId, job.uuid);
    },
    delete: async (name) => {
      const deleted = await driver.cronDelete(name);
      if (deleted) host.cronsChanged();
      return deleted;
    },
  };
}

/** `conveyor.crons` as the dashboard's Scheduled jobs source (list, pause, resume, run now). */
export function cronDashboardSource(api: CronsApi): ScheduledJobsSource {
  return {
    list: async () =>
      (await api.list()).map((c) => ({
        name: c.name,
        schedule: c.timezone ? `${c.schedule} (${c.timezone})` : c.schedule,
        target: c.target,
        nextRunAt: c.paused ? null : c.nextRunAt,
        lastRunAt: c.lastRunAt,
        lastJobId: c.lastJobId,
        paused: c.paused,
      })),
    pause: (name) => api.pause(name),
    resume: (name) => api.resume(name),
    runNow: async (name) => (await api.runNow(name)).id,
  };
}
