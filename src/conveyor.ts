/**
 * `Conveyor`: opens the storage, holds the models, enqueues jobs, and starts runners. The work is done
 * by the modules it wires: the options (conveyor-options.ts), the storage (open-storage.ts), the call
 * path of delayed and inline calls (delay/), the admin API (admin/), metrics (metrics/), scheduled jobs
 * (cron/) and the runners (runner/).
 * @module
 */
import { readChannelLoad, type ChannelLoad } from './admin/channel-load.ts';
import type { HealthStatus } from './admin/api.ts';
import { readHealth } from './admin/health.ts';
import { explainJob } from './admin/explain.ts';
import { JobFunctionOverrides, createJobFunctionsApi, type JobFunctionsApi } from './admin/job-functions.ts';
import { createJobsApi, type JobsApi } from './admin/jobs-api.ts';
import { createTimeoutLogApi, type TimeoutLogApi } from './admin/timeout-log-api.ts';
import { waitForJob, type WaitOptions } from './admin/wait-job.ts';
import type { ChannelTree } from './channels/tree.ts';
import { channelPausesApi, type ChannelPausesApi } from './channels/pauses.ts';
import { ContextApi, DEFAULT_CONTEXT_KEYS } from './context.ts';
import { resolveConveyorOptions, type ConveyorOptions } from './conveyor-options.ts';
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
import { MAINTENANCE_MODEL, MAINTENANCE_SETTINGS, maintenanceCrons, maintenanceMethods } from './cron/maintenance.ts';
import type { ScheduleSpec } from './cron/schedule.ts';
import { DelayedCalls, checkLoneDelayables, type Trap } from './delay/calls.ts';
import type { Delayable } from './delay/delayable.ts';
import type { ResolvedCall } from './delay/resolve-call.ts';
import type { Driver, RunnerInfo } from './drivers/driver.ts';
import { ClosedError, ConfigurationError } from './errors.ts';
import { EventHub, type ConveyorEventName, type ConveyorEvents } from './events.ts';
import { systemClock, type Clock } from './internal/clock.ts';
import type { Logger } from './internal/logger.ts';
import { loadTelemetry, type Telemetry } from './internal/telemetry.ts';
import { Job, type JobHandleHost } from './job/handle.ts';
import type { JobRow } from './job/row.ts';
import type { JobFunctionSettings } from './job/settings.ts';
import type { TimeoutLogEntryInput } from './job/timeout-log-entry.ts';
import { createMetricsApi, type MetricsApi } from './metrics/api.ts';
import { defineModel, type JobMethods, type ModelDefinition } from './model/definition.ts';
import { makeRecordSet, type Model, type ModelHost } from './model/record-set.ts';
import { openStorage } from './open-storage.ts';
import { Runner } from './runner/runner.ts';
import type { RunnerOptions } from './runner/options.ts';
import { bindTimeouts, type BoundTimeouts } from './timeouts/bind.ts';

export type { ConveyorOptions } from './conveyor-options.ts';

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
  readonly #overrides: JobFunctionOverrides;
  readonly #events: EventHub;
  readonly #runners = new Set<Runner>();
  readonly #calls: DelayedCalls;
  readonly #cronHost: CronHost;
  #closed = false;
  #telemetry: Telemetry | null = null;

  private constructor(
    driver: Driver,
    options: ConveyorOptions,
    resolved: { logger: Logger; channels: ChannelTree; noDelay: boolean },
  ) {
    const { logger } = resolved;
    this.driver = driver;
    this.options = options;
    this.logger = logger;
    this.channels = resolved.channels;
    this.clock = options.clock ?? systemClock;
    this.context = new ContextApi(options.contextKeys ?? DEFAULT_CONTEXT_KEYS);
    this.#events = new EventHub(logger, {
      listenEvents: (onPayload, onGap) => this.driver.listenEvents(onPayload, onGap),
    });
    if (resolved.noDelay) logger.warn('no-delay mode: delayed calls run at once, inline; not for production');
    const core = { driver, clock: this.clock, logger, channels: this.channels, models: this.#models };
    this.#calls = new DelayedCalls(
      {
        ...core,
        context: this.context,
        events: this.#events,
        jobHost: this,
        telemetry: () => this.#telemetry,
        recordTimeout: (e) => this.recordTimeout(e),
      },
      { noDelay: resolved.noDelay, unknownChannels: options.unknownChannels ?? 'warn' },
    );
    const hasLocalRunners = () => this.#runners.size > 0;
    this.jobs = createJobsApi({
      ...core,
      jobHost: this,
      explain: (id) => explainJob({ ...core, channelPauses: this.channelPauses, hasLocalRunners }, id),
      wait: (id, o) => this.waitJob(id, o),
    });
    this.timeoutLog = createTimeoutLogApi(core);
    this.timeouts = bindTimeouts({ conveyor: this, logger });
    this.#overrides = new JobFunctionOverrides(core);
    this.jobFunctions = createJobFunctionsApi(core, this.#overrides);
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
    const resolved = resolveConveyorOptions(options);
    const driver = await openStorage(resolved.storage);
    const conveyor = new Conveyor(driver, options, resolved);
    conveyor.#telemetry = await loadTelemetry();
    try {
      await conveyor.loadJobFunctionOverrides();
      if (resolved.maintenance) {
        for (const c of maintenanceCrons(conveyor.models, resolved.maintenance))
          await registerCron(conveyor.#cronHost, conveyor.crons, c);
      }
    } catch (err) {
      await conveyor.close();
      throw err;
    }
    return conveyor;
  }

  // ---------------------------------------------------------------- models

  /**
   * Define a model: a named group of job methods, with per-method settings (channel, retries, limits).
   * @throws ConfigurationError on a bad definition or a name already used
   */
  model<M extends JobMethods>(name: string, methods: M, settings?: { [K in keyof M]?: JobFunctionSettings }): Model<M> {
    const def = defineModel(name, methods, settings);
    if (this.#models.has(def.name)) throw new ConfigurationError(`model '${def.name}' is already defined`);
    this.#models.set(def.name, def);
    this.#overrides.apply(def);
    const set = makeRecordSet<M>(this, def, []);
    Object.defineProperty(set, 'methods', { value: methods });
    Object.defineProperty(set, 'settingsOf', { value: (m: string) => def.settings.get(m) });
    return set as Model<M>;
  }

  /** The model definitions, by name. */
  get models(): ReadonlyMap<string, ModelDefinition> {
    return this.#models;
  }

  /** @internal Load the stored job function overrides and apply them to every model. */
  loadJobFunctionOverrides(): Promise<void> {
    return this.#overrides.load();
  }

  // ---------------------------------------------------------------- enqueue

  /** Bulk enqueue: one multi-row insert for the array (same as `group(...).delay()` with no edges). */
  async delayMany(delayables: readonly Delayable[]): Promise<Job[]> {
    return this.storeGraph(checkLoneDelayables(delayables), []);
  }

  /** @internal Store nodes and edges (called by `delay()`): trapped, run inline, or stored. */
  async storeGraph(nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]): Promise<Job[]> {
    this.#assertOpen();
    return this.#calls.store(nodes, edges);
  }

  /**
   * @internal What a delayed call stands for once its job function's defaults and its options are
   * applied (also used by `trapJobs`). @throws UnknownModelError, UnknownMethodError, ConfigurationError
   */
  resolveCall(d: Delayable, now: number): ResolvedCall {
    return this.#calls.resolve(d, now);
  }

  /** @internal A direct call: run the method now, inline; its errors propagate. */
  runInline(
    model: string,
    method: string,
    records: readonly unknown[],
    args: readonly unknown[],
    maxRetries = 1,
  ): Promise<unknown> {
    return this.#calls.runInline(model, method, records, args, maxRetries);
  }

  /**
   * @internal Record delayed calls instead of storing them (used by `trapJobs` in `conveyor-queue/testing`).
   * Returns a function that removes the trap.
   */
  installTrap(trap: Trap): () => void {
    return this.#calls.installTrap(trap);
  }

  /** @internal Whether no-delay mode is on (option, env or context). */
  get noDelay(): boolean {
    return this.#calls.noDelay;
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
   * The dashboard is loaded on first use; it depends on the admin API (`admin/api.ts`), not on this class.
   */
  async dashboard(
    options: import('./dashboard/options.ts').DashboardOptions = {},
  ): Promise<import('./dashboard/index.ts').Dashboard> {
    const { createDashboard } = await import('./dashboard/index.ts');
    return createDashboard(this, options);
  }

  // ---------------------------------------------------------------- admin API

  /** Runners registered in the database (all processes). */
  async runners(): Promise<RunnerInfo[]> {
    return this.driver.runnerList();
  }

  /**
   * The load of every channel: the tree with its runtime pauses, and per channel the jobs running,
   * pending and failed in it and below it (what the dashboard's Channels page and `conveyor channels` show).
   */
  channelLoad(): Promise<ChannelLoad> {
    return readChannelLoad(this);
  }

  /**
   * Whether this Conveyor is open and its database answers, with the dialect and the stored schema
   * version (the dashboard's `/healthz`). Never throws: a failure is `{ status: 'error', error }`.
   */
  health(): Promise<HealthStatus> {
    return readHealth({ driver: this.driver, closed: () => this.#closed });
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
  waitJob(id: number, options: WaitOptions = {}): Promise<JobRow> {
    return waitForJob({ driver: this.driver, events: this.#events }, id, options);
  }
}
