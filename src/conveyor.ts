/**
 * `Conveyor`: opens the storage, holds the models, enqueues jobs, and starts runners.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { uuidv7 } from './internal/uuid.ts';
import { loadTelemetry, type Telemetry } from './internal/telemetry.ts';
import { createMetricsApi, type MetricsApi } from './metrics.ts';
import os from 'node:os';
import { ChannelTree } from './channels/tree.ts';
import { explainWaiting } from './channels/explain.ts';
import { channelPausesApi, type ChannelPausesApi } from './channels/pauses.ts';
import { ContextApi, DEFAULT_CONTEXT_KEYS } from './context.ts';
import {
  createCronsApi,
  registerCron,
  resolveCron,
  type CronHandle,
  type CronHost,
  type CronOptions,
  type CronsApi,
  type CronTarget,
} from './cron/api.ts';
import { resolveLimitTimeRealCron } from './cron/job.ts';
import {
  MAINTENANCE_MODEL,
  MAINTENANCE_SETTINGS,
  checkMaintenanceOptions,
  maintenanceCrons,
  maintenanceMethods,
  type MaintenanceOptions,
} from './cron/maintenance.ts';
import type { ScheduleSpec } from './cron/schedule.ts';
import { Delayable } from './delay/delayable.ts';
import { resolveEta } from './delay/options.ts';
import type {
  Driver,
  JobCountKey,
  JobCountRow,
  JobFilter,
  JobGraph,
  JobInsertResult,
  JobListParams,
  JobPage,
  NewJob,
  RunnerInfo,
  TimeoutStatistics,
} from './drivers/driver.ts';
import { openDriver } from './drivers/open.ts';
import {
  ClosedError,
  ConfigurationError,
  DatabaseNotFoundError,
  GraphError,
  UnknownChannelError,
  UnknownMethodError,
  UnknownModelError,
  ValidationError,
  WaitTimeoutError,
  describeValue,
} from './errors.ts';
import { EventHub, type ConveyorEventName, type ConveyorEvents } from './events.ts';
import { Batcher } from './internal/batcher.ts';
import { systemClock, type Clock } from './internal/clock.ts';
import { encodeJson } from './internal/json.ts';
import { createLogger, silentLogger, type Logger, type LogLevel } from './internal/logger.ts';
import { checkInt, checkOptions, didYouMean } from './internal/options.ts';
import { Job, type JobHandleHost } from './job/handle.ts';
import type { JobAttempt, JobRow } from './job/row.ts';
import { resolveRelatedAction, type RelatedActionView } from './job/related-action.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from './job/timeout-log-entry.ts';
import { applyOverride, validateOverride, type JobFunctionOverride, type ResolvedJobFunction } from './job/settings.ts';
import { FINAL_STATES } from './job/states.ts';
import { defineModel, type JobMethods, type ModelDefinition } from './model/definition.ts';
import { makeRecordSet, type Model, type ModelHost } from './model/record-set.ts';
import { executeJob } from './runner/executor.ts';
import { Runner, type RunnerOptions } from './runner/runner.ts';
import { bindTimeouts, type BoundTimeouts } from './timeouts/bind.ts';

/** Options of {@link Conveyor.open}. Unknown keys are an error. */
export interface ConveyorOptions {
  /** `sqlite:./conveyor.db` (default), `sqlite::memory:`, or `postgres://…`. Also `CONVEYOR_DATABASE`. */
  database?: string;
  /** PostgreSQL schema of the tables. @default 'conveyor' (or `CONVEYOR_SCHEMA`) */
  schema?: string;
  /** Channel configuration, queue_job syntax. @default '' (root unlimited: the runners' slots bound it; or `CONVEYOR_CHANNELS`) */
  channels?: string;
  /** A logger (pino-compatible), or a level for the built-in one. @default 'info' */
  logger?: Logger | LogLevel;
  /** The clock (tests). */
  clock?: Clock;
  /** Context keys captured at enqueue. @default ['tz','lang','allowedCompanyIds','forceCompany','activeTest'] */
  contextKeys?: readonly string[];
  /** Run delayed calls at once, inline (tests, debugging). Also `CONVEYOR_NO_DELAY=1`. */
  noDelay?: boolean;
  /** PostgreSQL pool size. @default 64 (or `CONVEYOR_DB_MAXCONN`) */
  dbMaxconn?: number;
  /** Apply migrations on open. @default true */
  migrate?: boolean;
  /**
   * Create the database when it holds no Conveyor schema yet. `false` refuses instead, with a
   * DatabaseNotFoundError: a SQLite file that does not exist is not created (nor `sqlite::memory:`, always
   * empty), a PostgreSQL schema that does not exist is named (what read-only tools want). @default true
   */
  create?: boolean;
  /**
   * A job enqueued into a channel that is neither in the channel configuration nor the channel of a job
   * function (a typo such as `root.mial`): `'warn'` logs once per channel, naming the configured channels
   * with a did-you-mean, and stores the job (it runs under the nearest configured ancestor); `'error'`
   * throws UnknownChannelError and stores nothing; `'allow'` says nothing. @default 'warn'
   */
  unknownChannels?: 'warn' | 'error' | 'allow';
  /** SQLite fsync policy. @default 'normal' */
  synchronous?: 'normal' | 'full';
  /** Defaults for runners started from this Conveyor (`conveyor.runner()`). */
  runner?: RunnerOptions;
  /**
   * Built-in scheduled jobs (jobs of the model `conveyor.maintenance`): weekly timeout-log cleanup and
   * daily retention of done/cancelled jobs. `false` registers none (entries already stored stay: pause or
   * delete them with `conveyor.crons`). See docs/cron.md.
   * @default { timeoutLogDays: 30, jobRetentionDays: 30 }
   */
  maintenance?: MaintenanceOptions | false;
}

const OPTION_KEYS = [
  'database',
  'schema',
  'channels',
  'logger',
  'clock',
  'contextKeys',
  'noDelay',
  'dbMaxconn',
  'migrate',
  'synchronous',
  'runner',
  'maintenance',
  'create',
  'unknownChannels',
];

/** The admin API on jobs (the CLI and the dashboard use nothing else). */
export interface JobsApi {
  /** A job by id or uuid, or null. */
  get(idOrUuid: number | string): Promise<JobRow | null>;
  /** A handle on a stored job. */
  handle(id: number): Promise<Job | null>;
  /** Keyset-paged listing. */
  list(params?: Partial<JobListParams>): Promise<JobPage>;
  /** Grouped counts. */
  count(params?: JobFilter & { groupBy?: readonly JobCountKey[] }): Promise<JobCountRow[]>;
  /** Back to pending; returns the ids changed. */
  requeue(ids: readonly number[]): Promise<number[]>;
  /** Set done by hand; returns the ids changed. */
  setDone(ids: readonly number[]): Promise<number[]>;
  /** Cancel; with `cascade`, dependants too. Returns the ids changed. */
  cancel(ids: readonly number[], options?: { cascade?: boolean }): Promise<number[]>;
  /** Past runs that did not end in done. */
  attempts(id: number): Promise<JobAttempt[]>;
  /** Direct parents and children. */
  dependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }>;
  /** Nodes and edges of a graph. */
  graph(graphUuid: string): Promise<JobGraph | null>;
  /** A plain sentence saying why the job is not running (or what it is doing). */
  explain(id: number): Promise<string>;
  /** The related action of a job (its job function's, by default its records); null when disabled or unknown. */
  relatedAction(id: number): Promise<RelatedActionView | null>;
  /** Wait until a job is done, failed or cancelled. @throws WaitTimeoutError (code `WAIT_TIMEOUT`) when `timeoutMs` passes first */
  wait(id: number, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<JobRow>;
  /** Delete done/cancelled jobs older than `days`. */
  prune(options?: { days?: number; states?: readonly ('done' | 'cancelled' | 'failed')[] }): Promise<number>;
}

/** One job function (a model's method) with its settings from code, the stored override, and the result. */
export interface JobFunctionInfo {
  /** `model.method`. */
  name: string;
  model: string;
  method: string;
  code: ResolvedJobFunction;
  override: JobFunctionOverride | null;
  effective: ResolvedJobFunction;
}

/**
 * Job functions as data: an operator changes a function's channel, retries or limits without a deploy.
 * Overrides live in the database; other processes pick them up at their next runner heartbeat.
 */
export interface JobFunctionsApi {
  list(): Promise<JobFunctionInfo[]>;
  /** Merge `patch` into the stored override (a key set to null is removed). @throws on invalid values */
  update(name: string, patch: Record<string, unknown>): Promise<JobFunctionInfo>;
  /** Remove the override: back to the code's settings. */
  reset(name: string): Promise<JobFunctionInfo>;
  /** Reload the overrides from the database. */
  refresh(): Promise<void>;
}

/** A delayed call with its job function's defaults and its options applied. */
export interface ResolvedCall {
  model: string;
  method: string;
  records: readonly unknown[];
  args: readonly unknown[];
  priority: number;
  eta: number | null;
  channel: string;
  maxRetries: number;
  description: string;
  identityKey: string | null;
}

/** The timeout log API. */
export interface TimeoutLogApi {
  /** Write a row. */
  record(entry: TimeoutLogEntryInput): Promise<number>;
  /** Newest rows first. */
  list(params?: {
    days?: number;
    limit?: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]>;
  /** Counts and averages over the last `days` (default 7). */
  statistics(params?: { days?: number }): Promise<TimeoutStatistics>;
  /** Delete rows older than `days` (default 30); returns the count. */
  cleanup(params?: { days?: number }): Promise<number>;
}

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** A durable job queue on SQLite or PostgreSQL. */
export class Conveyor implements ModelHost, JobHandleHost {
  /** The storage driver. */
  readonly driver: Driver;
  /** The channel configuration. */
  readonly channels: ChannelTree;
  /** The logger. */
  readonly logger: Logger;
  /** The clock. */
  readonly clock: Clock;
  /** The ambient context (`conveyor.context.run({ tz }, fn)`). */
  readonly context: ContextApi;
  /** Admin API on jobs. */
  readonly jobs: JobsApi;
  /** The timeout log. */
  readonly timeoutLog: TimeoutLogApi;
  /** Job functions as data (overrides stored in the database). */
  readonly jobFunctions: JobFunctionsApi;
  /** The timeout toolkit, recording into this Conveyor's timeout log (`conveyor.timeouts.withTimeout('5m', fn)`). */
  readonly timeouts: BoundTimeouts;
  /** Scheduled jobs stored in the database, from every process (`conveyor.crons.list()`, `pause`, `resume`, `runNow`). */
  readonly crons: CronsApi;
  /** Pause and resume channels at runtime, durably, for every runner (`pause('mail')`, `resume`, `list`). */
  readonly channelPauses: ChannelPausesApi;
  /**
   * Prometheus metrics: `await conveyor.metrics()` is the text to serve on your own endpoint,
   * `conveyor.metrics.register(registry)` feeds a prom-client registry (docs/observability.md).
   */
  readonly metrics: MetricsApi;
  /** Options given to {@link open}, for runners and child processes. */
  readonly options: Readonly<ConveyorOptions>;
  readonly #models = new Map<string, ModelDefinition>();
  #overrides = new Map<string, JobFunctionOverride>();
  readonly #events: EventHub;
  readonly #noDelay: boolean;
  readonly #runners = new Set<Runner>();
  readonly #insertBatcher: Batcher<NewJob, JobInsertResult>;
  readonly #cronHost: CronHost;
  #closed = false;
  /** Channels given at enqueue already judged: a job function's channel, or unknown and warned about (once each). */
  readonly #channelsChecked = new Set<string>();
  #telemetry: Telemetry | null = null;
  #traps: ((nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]) => Job[])[] = [];

  private constructor(driver: Driver, options: ConveyorOptions, logger: Logger, channels: ChannelTree) {
    this.driver = driver;
    this.options = options;
    this.logger = logger;
    this.channels = channels;
    this.clock = options.clock ?? systemClock;
    this.context = new ContextApi(options.contextKeys ?? DEFAULT_CONTEXT_KEYS);
    this.#events = new EventHub(logger, {
      listenEvents: (onPayload, onGap) => this.driver.listenEvents(onPayload, onGap),
    });
    this.#noDelay = options.noDelay ?? envFlag('CONVEYOR_NO_DELAY');
    if (this.#noDelay) logger.warn('no-delay mode: delayed calls run at once, inline; not for production');
    this.#insertBatcher = new Batcher((jobs) => this.driver.jobInsertMany({ jobs, now: this.clock.now() }), {
      maxBatch: 1000,
      concurrency: 2,
    });
    this.jobs = this.#jobsApi();
    this.timeoutLog = this.#timeoutLogApi();
    this.timeouts = bindTimeouts({ conveyor: this, logger });
    this.jobFunctions = this.#jobFunctionsApi();
    this.#cronHost = this.#makeCronHost();
    this.crons = createCronsApi(this.#cronHost);
    this.channelPauses = channelPausesApi(this);
    this.metrics = createMetricsApi(this);
    this.model(MAINTENANCE_MODEL, maintenanceMethods(this), MAINTENANCE_SETTINGS);
  }

  /** Write a timeout log row (makes a Conveyor a sink for the timeout toolkit's `{ conveyor }` option). */
  async recordTimeout(entry: TimeoutLogEntryInput): Promise<void> {
    await this.timeoutLog.record(entry);
  }

  /**
   * Open a Conveyor: connect, migrate, parse the channels.
   * @throws ConfigurationError on bad options, DatabaseError when the database cannot be opened,
   *   SchemaTooNewError when it was written by a newer version.
   */
  static async open(options: ConveyorOptions = {}): Promise<Conveyor> {
    checkOptions(options, OPTION_KEYS, 'Conveyor.open()');
    const maintenance = checkMaintenanceOptions(options.maintenance);
    const logger =
      typeof options.logger === 'object' && options.logger
        ? options.logger
        : options.logger === 'silent'
          ? silentLogger
          : createLogger({ level: options.logger as LogLevel | undefined });
    if (
      options.contextKeys !== undefined &&
      (!Array.isArray(options.contextKeys) || options.contextKeys.some((k) => typeof k !== 'string'))
    ) {
      throw new ConfigurationError(
        `Conveyor.open(): contextKeys must be an array of strings, got ${describeValue(options.contextKeys)}`,
      );
    }
    const channels = ChannelTree.fromConfig(options.channels ?? process.env.CONVEYOR_CHANNELS ?? '');
    const dbMaxconn =
      options.dbMaxconn ?? (process.env.CONVEYOR_DB_MAXCONN ? Number(process.env.CONVEYOR_DB_MAXCONN) : 64);
    checkInt(dbMaxconn, 'Conveyor.open(): dbMaxconn', 1, 10_000);
    if (options.create !== undefined && typeof options.create !== 'boolean')
      throw new ConfigurationError(`Conveyor.open(): create must be a boolean, got ${describeValue(options.create)}`);
    if (options.unknownChannels !== undefined && !['warn', 'error', 'allow'].includes(options.unknownChannels)) {
      throw new ConfigurationError(
        `Conveyor.open(): unknownChannels must be 'warn', 'error' or 'allow', got ${describeValue(options.unknownChannels)}`,
      );
    }
    const schema = options.schema ?? (process.env.CONVEYOR_SCHEMA || undefined);
    const driver = await openDriver(options.database ?? process.env.CONVEYOR_DATABASE ?? 'sqlite:./conveyor.db', {
      schema,
      maxConnections: dbMaxconn,
      synchronous: options.synchronous,
      mustExist: options.create === false,
    });
    try {
      if (options.create === false && (await driver.schemaVersion()).current === 0) {
        const what = driver.location.startsWith('sqlite:')
          ? `the SQLite database '${driver.location.slice('sqlite:'.length)}' holds no Conveyor tables`
          : `there is no Conveyor schema '${schema ?? 'conveyor'}' in ${driver.location.replace(/ \(schema [^)]*\)$/, '')}`;
        throw new DatabaseNotFoundError(
          `${what} (check the database URL and schema; 'conveyor migrate' creates them)`,
          { details: { location: driver.location, schema } },
        );
      }
      if (options.migrate !== false) await driver.migrate();
      else {
        const v = await driver.schemaVersion();
        if (v.current !== v.latest)
          throw new ConfigurationError(
            `the database schema is at version ${v.current}, this Conveyor needs ${v.latest}: run 'conveyor migrate' or open with migrate: true`,
          );
      }
    } catch (err) {
      await driver.close();
      throw err;
    }
    const conveyor = new Conveyor(driver, options, logger, channels);
    conveyor.#telemetry = await loadTelemetry();
    try {
      await conveyor.loadJobFunctionOverrides();
    } catch (err) {
      await conveyor.close();
      throw err;
    }
    if (maintenance) {
      try {
        for (const c of maintenanceCrons(conveyor.models, maintenance))
          await registerCron(conveyor.#cronHost, conveyor.crons, c);
      } catch (err) {
        await conveyor.close();
        throw err;
      }
    }
    return conveyor;
  }

  // ---------------------------------------------------------------- models

  /**
   * Define a model: a named group of job methods, with per-method settings (channel, retries, limits).
   * @throws ConfigurationError on a bad definition or a name already used
   */
  model<M extends JobMethods>(
    name: string,
    methods: M,
    settings?: { [K in keyof M]?: import('./job/settings.ts').JobFunctionSettings },
  ): Model<M> {
    const def = defineModel(name, methods, settings);
    if (this.#models.has(def.name)) throw new ConfigurationError(`model '${def.name}' is already defined`);
    this.#models.set(def.name, def);
    this.#applyOverrides(def);
    const set = makeRecordSet<M>(this, def, []);
    Object.defineProperty(set, 'methods', { value: methods });
    Object.defineProperty(set, 'settingsOf', { value: (m: string) => def.settings.get(m) });
    return set as Model<M>;
  }

  /** The model definitions, by name. */
  get models(): ReadonlyMap<string, ModelDefinition> {
    return this.#models;
  }

  // ---------------------------------------------------------------- enqueue

  /** Bulk enqueue: one multi-row insert for the array (same as `group(...).delay()` with no edges). */
  async delayMany(delayables: readonly Delayable[]): Promise<Job[]> {
    if (!Array.isArray(delayables))
      throw new ValidationError(`delayMany() takes an array of delayables, got ${describeValue(delayables)}`);
    for (const d of delayables) {
      if (!(d instanceof Delayable))
        throw new ValidationError(
          `delayMany() takes delayables (model.delayable().method(...)), got ${describeValue(d)}`,
        );
      if (d.parents.size || d.children.size)
        throw new GraphError('delayMany() takes lone delayables; use chain()/group() for graphs');
    }
    return this.storeGraph(delayables, []);
  }

  /** @internal Store nodes and edges (called by `delay()`). */
  async storeGraph(nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]): Promise<Job[]> {
    this.#assertOpen();
    const trap = this.#traps.at(-1);
    if (trap) return trap(nodes, edges);
    if (this.#noDelay || this.context.get().noDelay === true) return this.#runGraphInline(nodes);
    const now = this.clock.now();
    const txs = new Set(nodes.map((n) => n.options.tx).filter((t) => t !== undefined));
    if (txs.size > 1) throw new GraphError('the jobs of one graph must all use the same tx');
    const tx = txs.values().next().value;
    const graphUuid = nodes.length > 1 && edges.length > 0 ? randomUUID() : null;
    const span = this.#telemetry?.startEnqueue(nodes.length);
    let rows: NewJob[];
    let results: JobInsertResult[];
    try {
      // the enqueue span's trace context travels in the job's context JSON (see internal/telemetry.ts)
      const captured = this.context.capture();
      const context = span?.carrier ? { ...captured, ...span.carrier } : captured;
      const contextJson = context ? encodeJson(context, 'context') : null;
      rows = nodes.map((d) => this.#newJob(d, now, graphUuid, contextJson));
      if (nodes.length === 1 && tx === undefined) results = [await this.#insertBatcher.submit(rows[0]!)];
      else results = await this.driver.jobInsertMany({ jobs: rows, edges, now, tx });
    } catch (err) {
      span?.end([], err as Error);
      throw err;
    }
    span?.end(rows);
    if (this.#events.has('job_enqueued')) {
      results.forEach((r, i) =>
        this.#events.emit('job_enqueued', {
          id: r.id,
          uuid: r.uuid,
          model: rows[i]!.model,
          method: rows[i]!.method,
          channel: rows[i]!.channel,
          existing: r.existing,
        }),
      );
    }
    return results.map((r) => new Job(this, r.id, r.uuid, r.state, r.existing));
  }

  /**
   * @internal What a delayed call stands for once its job function's defaults and its options are
   * applied (also used by `trapJobs`). @throws UnknownModelError, UnknownMethodError, ConfigurationError
   */
  resolveCall(d: Delayable, now: number): ResolvedCall {
    const def = this.#models.get(d.model);
    if (!def)
      throw new UnknownModelError(
        `unknown model '${d.model}' (defined: ${[...this.#models.keys()].join(', ') || 'none'})`,
      );
    const fn = def.settings.get(d.method);
    if (!fn)
      throw new UnknownMethodError(
        `model '${d.model}' has no method '${d.method}' (methods: ${[...def.settings.keys()].join(', ')})`,
      );
    const o = d.options;
    const identity =
      typeof o.identityKey === 'function'
        ? o.identityKey({ model: d.model, method: d.method, records: d.records, args: d.args })
        : (o.identityKey ?? null);
    if (identity !== null && typeof identity !== 'string')
      throw new ValidationError(`identityKey function must return a string, got ${describeValue(identity)}`);
    return {
      model: d.model,
      method: d.method,
      records: d.records,
      args: d.args,
      priority: o.priority ?? fn.priority,
      eta: resolveEta(o.eta, now, `${d.model}.${d.method}`),
      channel:
        o.channel === undefined
          ? this.channels.path(fn.channel).at(-1)!.name
          : this.#checkChannel(o.channel, `${d.model}.${d.method}`),
      maxRetries: o.maxRetries ?? fn.maxRetries,
      description: o.description ?? fn.description ?? `${d.model}.${d.method}`,
      identityKey: identity,
    };
  }

  /**
   * The normalised name of a channel given at enqueue; one not in the configuration nor any job function's
   * channel is warned about once (or refused, or allowed: option `unknownChannels`).
   */
  #checkChannel(channel: string, job: string): string {
    const node = this.channels.path(channel).at(-1)!;
    const mode = this.options.unknownChannels ?? 'warn';
    if (node.configured || mode === 'allow' || this.#channelsChecked.has(node.name) || this.channels.node(node.name))
      return node.name;
    const declared = new Set(
      [...this.#models.values()].flatMap((def) =>
        [...def.settings.values()].map((fn) => this.channels.path(fn.channel).at(-1)!.name),
      ),
    );
    if (declared.has(node.name)) {
      this.#channelsChecked.add(node.name);
      return node.name;
    }
    const known = [...new Set([...this.channels.nodes().map((n) => n.name), ...declared])];
    const best = didYouMean(node.name, known);
    const message = `unknown channel '${node.name}' for ${job}${best ? ` (did you mean '${best}'?)` : ''}: the configured channels are ${known.join(', ')}`;
    if (mode === 'error') throw new UnknownChannelError(message, { details: { channel: node.name, known } });
    this.#channelsChecked.add(node.name);
    const limiter = [...this.channels.path(node.name)].reverse().find((n) => n.capacity !== null)?.name ?? 'root';
    this.logger.warn(
      { channel: node.name, known },
      `${message}; created on the fly, its jobs run under ${limiter}'s capacity (set unknownChannels: 'error' to refuse such jobs)`,
    );
    return node.name;
  }

  #newJob(d: Delayable, now: number, graphUuid: string | null, context: string | null): NewJob {
    const r = this.resolveCall(d, now);
    return {
      uuid: uuidv7(now),
      graphUuid,
      model: r.model,
      method: r.method,
      records: encodeJson(r.records, 'records'),
      args: encodeJson(r.args, 'args'),
      priority: r.priority,
      eta: r.eta,
      channel: r.channel,
      maxRetries: r.maxRetries,
      description: r.description,
      identityKey: r.identityKey,
      context,
      timeLimitMs: null,
    };
  }

  async #runGraphInline(nodes: readonly Delayable[]): Promise<Job[]> {
    this.logger.warn({ jobs: nodes.length }, 'no-delay mode: running delayed jobs inline');
    const jobs: Job[] = [];
    for (const d of nodes) {
      const startedAt = this.clock.now();
      const result = await this.runInline(d.model, d.method, d.records, d.args, d.options.maxRetries);
      const doneAt = this.clock.now();
      const row: JobRow = {
        id: 0,
        uuid: '',
        graphUuid: null,
        model: d.model,
        method: d.method,
        records: [...d.records],
        args: [...d.args],
        state: 'done',
        priority: d.options.priority ?? 10,
        eta: null,
        channel: d.options.channel ?? 'root',
        attempt: 1,
        maxRetries: d.options.maxRetries ?? 5,
        crashCount: 0,
        result,
        excName: null,
        excMessage: null,
        excInfo: null,
        description: d.options.description ?? `${d.model}.${d.method}`,
        identityKey: null,
        context: this.context.capture(),
        progress: null,
        checkpoint: undefined,
        timeLimitMs: null,
        createdAt: startedAt,
        enqueuedAt: null,
        startedAt,
        doneAt,
        cancelledAt: null,
        execTimeMs: doneAt - startedAt,
        runnerId: null,
        hasDependants: false,
      };
      jobs.push(new Job(this, 0, '', 'done', false, row));
    }
    return jobs;
  }

  /** @internal A direct call: run the method now, inline; its errors propagate. */
  async runInline(
    model: string,
    method: string,
    records: readonly unknown[],
    args: readonly unknown[],
    maxRetries = 1,
  ): Promise<unknown> {
    encodeJson(args, 'args');
    let checkpoint: unknown;
    const r = await executeJob({
      job: {
        id: 0,
        uuid: '',
        model,
        method,
        records: [...records],
        args: [...args],
        attempt: 1,
        maxRetries,
        context: this.context.get() as Record<string, unknown>,
        checkpoint: undefined,
      },
      models: this.#models,
      limitMs: 0,
      logger: this.logger,
      context: this.context,
      persistProgress: async () => {},
      persistCheckpoint: async (v) => {
        checkpoint = v;
      },
      recordTimeout: async (e) => {
        await this.timeoutLog.record(e);
      },
      // no job row to complete: the callback's writes alone, in one transaction (docs/transactions.md)
      transaction: async (fn, signal) =>
        (
          await this.driver.jobTransaction({
            job: null,
            fn,
            encodeResult: () => null,
            now: () => this.clock.now(),
            signal,
          })
        ).value,
      now: () => this.clock.now(),
    });
    void checkpoint;
    if (r.outcome.kind === 'done') return r.outcome.result;
    throw r.outcome.error;
  }

  /**
   * @internal Record delayed calls instead of storing them (used by `trapJobs` in `conveyor-queue/testing`).
   * Returns a function that removes the trap.
   */
  installTrap(trap: (nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]) => Job[]): () => void {
    this.#traps.push(trap);
    return () => {
      this.#traps = this.#traps.filter((t) => t !== trap);
    };
  }

  /** @internal Whether no-delay mode is on (option, env or context). */
  get noDelay(): boolean {
    return this.#noDelay || this.context.get().noDelay === true;
  }

  /** @internal */
  warn(message: string): void {
    this.logger.warn(message);
  }

  // ---------------------------------------------------------------- scheduled jobs

  /**
   * Schedule a job (Odoo's ir.cron): `target` (a model method, `partners.sendNewsletter`, or
   * `'model.method'`) runs with `args` at every slot of `schedule` (a cron expression read in
   * `options.timezone`, `'every 15m'`, or `{ every: '1w', anchor? }`), exactly once per slot across all
   * runners. Idempotent: every process may register the same entry; the code is the source of truth for
   * schedule, target, args and options, while pausing is kept. Missed slots are not replayed unless
   * `catchUp` says so. Jobs get the runner's `limitTimeRealCron` unless their job function sets `timeLimit`.
   * @throws ConfigurationError at once on a bad name, schedule, target or option (the promise rejects on database errors)
   * @example await conveyor.cron('newsletter', '0 9 * * 1', partners.sendNewsletter, ['weekly'], { timezone: 'Europe/Paris' });
   */
  cron(
    name: string,
    schedule: ScheduleSpec,
    target: CronTarget,
    args?: readonly unknown[],
    options?: CronOptions,
  ): Promise<CronHandle> {
    this.#assertOpen();
    const resolved = resolveCron(this.#models, name, schedule, target, args, options);
    return registerCron(this.#cronHost, this.crons, resolved);
  }

  #makeCronHost(): CronHost {
    return {
      driver: this.driver,
      clock: this.clock,
      channels: this.channels,
      models: this.#models,
      limitTimeRealCronMs: () => resolveLimitTimeRealCron(this.options.runner?.limitTimeRealCron),
      jobHandle: (id, uuid) => new Job(this, id, uuid, 'pending'),
      cronsChanged: () => {
        for (const r of this.#runners) r.cronScheduler?.poke(true);
        if (!this.#closed) this.driver.wake('jobs').catch(() => {});
      },
    };
  }

  // ---------------------------------------------------------------- runners and events

  /** Create an in-process runner (call `start()` on it). */
  runner(options: RunnerOptions = {}): Runner {
    this.#assertOpen();
    const runner = new Runner(this, { ...this.options.runner, ...options });
    this.#runners.add(runner);
    runner.onStopped(() => this.#runners.delete(runner));
    return runner;
  }

  /** Subscribe to an event; returns the unsubscribe function. */
  on<K extends ConveyorEventName>(event: K, listener: (payload: ConveyorEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** @internal OpenTelemetry spans (null when `@opentelemetry/api` is not installed). */
  get telemetry(): Telemetry | null {
    return this.#telemetry;
  }

  /**
   * The typed events: `on()` for this process's events (as {@link Conveyor.on}), and
   * `subscribeRemote()` for job lifecycle events from the runners of every process (docs/observability.md).
   */
  get events(): EventHub {
    return this.#events;
  }

  /**
   * The dashboard as a web-standard request handler (`(Request) => Promise<Response>`) to mount in your
   * own server, e.g. `http.createServer(getRequestListener(dashboard.fetch))`. See docs/dashboard.md.
   */
  async dashboard(
    options: import('./dashboard/index.ts').DashboardOptions = {},
  ): Promise<import('./dashboard/index.ts').Dashboard> {
    const { createDashboard } = await import('./dashboard/index.ts');
    return createDashboard(this, options);
  }

  /** Runners registered in the database (all processes). */
  async runners(): Promise<RunnerInfo[]> {
    return this.driver.runnerList();
  }

  /** Stop this Conveyor's runners (gracefully) and close the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.metrics.close();
    await Promise.all([...this.#runners].map((r) => r.stop()));
    await this.driver.close();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('this Conveyor is closed');
  }

  // ---------------------------------------------------------------- JobHandleHost

  /** @internal */
  getJob(id: number): Promise<JobRow | null> {
    return this.driver.jobGet(id);
  }

  /** @internal */
  requeueJobs(ids: number[]): Promise<number[]> {
    return this.jobs.requeue(ids);
  }

  /** @internal */
  setDoneJobs(ids: number[]): Promise<number[]> {
    return this.jobs.setDone(ids);
  }

  /** @internal */
  cancelJobs(ids: number[], options: { cascade?: boolean }): Promise<number[]> {
    return this.jobs.cancel(ids, options);
  }

  /** @internal Wait for a final state: woken by in-process events, with a polling fallback. */
  async waitJob(id: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<JobRow> {
    if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== 'number' || !(options.timeoutMs >= 0))) {
      throw new ValidationError(
        `wait(): timeoutMs must be a number of milliseconds >= 0, got ${describeValue(options.timeoutMs)}`,
      );
    }
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let wake: (() => void) | null = null;
    const offs = (['job_done', 'job_failed', 'job_retried', 'job_rescued'] as const).map((e) =>
      this.#events.on(e, (p) => {
        if (p.id === id) wake?.();
      }),
    );
    try {
      for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
        const row = await this.driver.jobGet(id);
        if (!row) throw new ValidationError(`job ${id} does not exist`);
        if ((FINAL_STATES as readonly string[]).includes(row.state)) return row;
        if (options.signal?.aborted) throw options.signal.reason;
        const left = deadline - Date.now();
        if (left <= 0)
          throw new WaitTimeoutError(
            `job ${id} did not finish within ${options.timeoutMs} ms (state ${row.state})`,
            id,
            options.timeoutMs!,
            { details: { jobId: id, state: row.state } },
          );
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(delay, left));
          function done() {
            clearTimeout(t);
            wake = null;
            options.signal?.removeEventListener('abort', done);
            resolve();
          }
          wake = done;
          options.signal?.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      offs.forEach((off) => off());
    }
  }

  // ---------------------------------------------------------------- admin API

  #jobsApi(): JobsApi {
    const ids = async (value: unknown, what: string): Promise<number[]> => {
      if (!Array.isArray(value))
        throw new ValidationError(
          `${what}: expected an array of job ids (positive integers), got ${describeValue(value)}`,
        );
      const bad = value.findIndex((v) => !Number.isInteger(v) || v < 1);
      if (bad >= 0)
        throw new ValidationError(
          `${what}: expected job ids (positive integers), got ${describeValue(value[bad])} at index ${bad}`,
        );
      return value as number[];
    };
    const now = () => this.clock.now();
    return {
      get: (idOrUuid) => this.driver.jobGet(idOrUuid),
      handle: async (id) => {
        const row = await this.driver.jobGet(id);
        return row ? new Job(this, row.id, row.uuid, row.state, false, row) : null;
      },
      list: (params = {}) => this.driver.jobList({ ...params, limit: params.limit ?? 50 }),
      count: (params = {}) => this.driver.jobCount({ ...params, groupBy: params.groupBy ?? [] }),
      requeue: async (list) =>
        this.driver.jobRequeue({ ids: await ids(list, 'jobs.requeue()'), now: now(), message: 'Requeued' }),
      setDone: async (list) =>
        this.driver.jobSetDone({ ids: await ids(list, 'jobs.setDone()'), now: now(), message: 'Manually set to done' }),
      cancel: async (list, o = {}) =>
        this.driver.jobCancel({
          ids: await ids(list, 'jobs.cancel()'),
          now: now(),
          message: 'Cancelled',
          cascade: o.cascade ?? false,
        }),
      attempts: (id) => this.driver.jobAttempts(id),
      dependencies: (id) => this.driver.jobDependencies(id),
      graph: (g) => this.driver.graphGet(g),
      explain: (id) => this.#explain(id),
      relatedAction: async (id) => {
        const job = await this.driver.jobGet(id);
        return job ? resolveRelatedAction(this.#models.get(job.model)?.settings.get(job.method), job) : null;
      },
      wait: (id, o) => this.waitJob(id, o),
      prune: (o = {}) =>
        this.driver.jobPrune({
          before: now() - (o.days ?? 30) * 86_400_000,
          states: o.states ?? ['done', 'cancelled'],
        }),
    };
  }

  async #explain(id: number): Promise<string> {
    const job = await this.driver.jobGet(id);
    if (!job) return `job ${id} does not exist`;
    switch (job.state) {
      case 'done':
        return `done${job.doneAt ? ` at ${new Date(job.doneAt).toISOString()}` : ''}`;
      case 'cancelled':
        return 'cancelled';
      case 'failed':
        return `failed: ${job.excName ?? 'Error'}: ${job.excMessage ?? ''}; requeue it to run it again`;
      case 'started':
        return `running on ${job.runnerId ?? 'a runner'} (attempt ${job.attempt})`;
      case 'enqueued':
        return `claimed by ${job.runnerId ?? 'a runner'}, starting as soon as it has a free slot`;
    }
    const now = this.clock.now();
    const snap = await this.driver.channelSnapshot({
      now,
      sequentialChannels: this.channels.sequentialChannels(),
      throttledChannels: this.channels.throttledChannels(),
    });
    const deps = job.state === 'wait_dependencies' ? (await this.driver.jobDependencies(id)).dependsOn : [];
    const waitingFor: number[] = [];
    for (const p of deps) {
      const parent = await this.driver.jobGet(p);
      if (parent && parent.state !== 'done') waitingFor.push(p);
    }
    const ahead = job.state === 'pending' ? await this.driver.jobAhead(id, now) : 0;
    let sentence = explainWaiting(
      await this.channelPauses.tree(),
      snap,
      {
        id: job.id,
        channel: job.channel,
        state: job.state,
        eta: job.eta,
        priority: job.priority,
        createdAt: job.createdAt,
        waitingFor,
      },
      ahead,
    );
    if (job.state === 'pending' && !this.#runners.size) {
      const runners = await this.driver.runnerList();
      if (!runners.some((r) => r.leaseUntil >= now)) sentence += '; no runner is alive';
    }
    return sentence;
  }

  #applyOverrides(def: ModelDefinition): void {
    for (const [method, code] of def.codeSettings) {
      const o = this.#overrides.get(`${def.name}.${method}`);
      try {
        def.settings.set(method, applyOverride(def.name, method, code, o));
      } catch (err) {
        this.logger.error(
          { jobFunction: `${def.name}.${method}`, err },
          'ignoring an invalid stored job function override',
        );
        def.settings.set(method, code);
      }
    }
  }

  /** @internal Load the stored overrides and apply them to every model. */
  async loadJobFunctionOverrides(): Promise<void> {
    const rows = await this.driver.jobFunctionList();
    const next = new Map<string, JobFunctionOverride>();
    for (const r of rows) {
      try {
        next.set(r.name, JSON.parse(r.settings) as JobFunctionOverride);
      } catch {
        /* a broken row is skipped and logged below */
      }
    }
    this.#overrides = next;
    for (const def of this.#models.values()) this.#applyOverrides(def);
  }

  #jobFunctionsApi(): JobFunctionsApi {
    const info = (name: string): JobFunctionInfo => {
      const dot = name.lastIndexOf('.');
      const model = name.slice(0, dot);
      const method = name.slice(dot + 1);
      const def = this.#models.get(model);
      const code = def?.codeSettings.get(method);
      if (!def || !code)
        throw new UnknownMethodError(`unknown job function '${name}' (expected model.method of a defined model)`);
      return {
        name,
        model,
        method,
        code,
        override: this.#overrides.get(name) ?? null,
        effective: def.settings.get(method)!,
      };
    };
    return {
      list: async () =>
        [...this.#models.values()].flatMap((d) => [...d.codeSettings.keys()].map((m) => info(`${d.name}.${m}`))),
      update: async (name, patch) => {
        info(name);
        if (!patch || typeof patch !== 'object')
          throw new ValidationError(`jobFunctions.update(): patch must be an object, got ${describeValue(patch)}`);
        const merged: Record<string, unknown> = { ...(this.#overrides.get(name) ?? {}) };
        for (const [k, v] of Object.entries(patch)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        const valid = validateOverride(name, merged);
        await this.driver.jobFunctionSet({
          name,
          settings: Object.keys(valid).length ? JSON.stringify(valid) : null,
          now: this.clock.now(),
        });
        await this.loadJobFunctionOverrides();
        return info(name);
      },
      reset: async (name) => {
        info(name);
        await this.driver.jobFunctionSet({ name, settings: null, now: this.clock.now() });
        await this.loadJobFunctionOverrides();
        return info(name);
      },
      refresh: () => this.loadJobFunctionOverrides(),
    };
  }

  #timeoutLogApi(): TimeoutLogApi {
    const days = (d: number | undefined, def: number, what: string) => {
      const v = d ?? def;
      if (typeof v !== 'number' || !(v >= 0))
        throw new ValidationError(`${what}: days must be a number >= 0, got ${describeValue(v)}`);
      return this.clock.now() - v * 86_400_000;
    };
    return {
      record: (e) =>
        this.driver.timeoutLogInsert({ ...e, at: e.at ?? this.clock.now(), host: `${os.hostname()}:${process.pid}` }),
      list: (p = {}) =>
        this.driver.timeoutLogList({
          since: p.days === undefined ? undefined : days(p.days, 7, 'timeoutLog.list()'),
          limit: p.limit ?? 100,
          model: p.model,
          method: p.method,
          kind: p.kind,
          cursor: p.cursor ?? null,
        }),
      statistics: (p = {}) => this.driver.timeoutLogStatistics({ since: days(p.days, 7, 'timeoutLog.statistics()') }),
      cleanup: (p = {}) => this.driver.timeoutLogCleanup({ before: days(p.days, 30, 'timeoutLog.cleanup()') }),
    };
  }
}
