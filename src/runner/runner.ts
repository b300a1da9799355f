/**
 * The runner: claims jobs (exact channel capacities, serialised claim), runs them in its slots, writes
 * their outcomes in batches, heartbeats its lease and rescues jobs of runners that died.
 *
 * Flow: `#kick()` → `#claimLoop()` fills the local buffer (`enqueued` jobs leased to this runner, up to
 * `workers + prefetch`) → `#dispatch()` starts buffered jobs in free slots → each outcome goes to the
 * write queue → `#flush()` sends everything queued in one driver call while the previous one is in
 * flight (group commit) → a flush that freed capacity kicks the claim loop again.
 * @module
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { guessClaim, planFetch, pickJobs, type ChannelSnapshot } from '../channels/scheduler.ts';
import { ConfigurationError, JobLeaseLostError, describeValue } from '../errors.ts';
import type { ClaimPolicy, Driver, FinishCommand, JobTransactionJob, WakeTopic } from '../drivers/driver.ts';
import { ChannelTree } from '../channels/tree.ts';
import type { ContextApi } from '../context.ts';
import { packRemoteEvents, type EventHub, type RemoteEvent } from '../events.ts';
import type { Clock } from '../internal/clock.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import { encodeJson } from '../internal/json.ts';
import type { Logger } from '../internal/logger.ts';
import { checkInt, checkOptions } from '../internal/options.ts';
import type { JobProgress, JobRow } from '../job/row.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { CronScheduler } from './cron-scheduler.ts';
import { resolveLimitTimeRealCron } from '../cron/job.ts';
import { encodeTransactionResult, executeJob, RunAbort, type ExecuteResult } from './executor.ts';
import { ProcessPool, type ProcessPoolOptions } from './isolation/process-pool.ts';
import { processPoolOptions } from './isolation/options.ts';
import type { Outcome } from './outcome.ts';
import { splitTraceContext, type RunOutcome, type Telemetry } from '../internal/telemetry.ts';
import { Backoff, Recovery } from './recovery.ts';
import { AdaptivePrefetch } from './prefetch.ts';

/** Runner settings (the `odoo.conf` limits among them). Unknown keys are an error. */
export interface RunnerOptions {
  /** Job slots: jobs running at once in this runner. @default 4 (or `CONVEYOR_WORKERS`) */
  workers?: number;
  /**
   * Extra jobs claimed ahead into a local buffer (they count against channel capacity). By default the
   * runner sizes its buffer itself: about one claim round trip's worth of work, at most 50 ms of it and
   * 500 jobs (see docs/architecture.md, "The adaptive claim"). A number fixes it.
   * @default adaptive
   */
  prefetch?: number;
  /** Polling fallback interval. @default '1s' on SQLite, '5s' on PostgreSQL */
  pollInterval?: Duration;
  /**
   * Lease: a database outage shorter than this never gets this runner declared dead. The runner is
   * declared dead, and its jobs are requeued, once `lease + heartbeat + 1s` pass on the database's clock
   * without a heartbeat landing (41 s by default). @default '30s'
   */
  lease?: Duration;
  /** Heartbeat period (a failed heartbeat is retried every 250 ms until one lands). @default lease / 3 */
  heartbeat?: Duration;
  /** A job whose runner died this many times fails. @default 3 */
  maxCrashes?: number;
  /** Wall-clock limit of one run, unless the job function sets `timeLimit`. @default '1200s' (or `CONVEYOR_LIMIT_TIME_REAL`) */
  limitTimeReal?: Duration;
  /** Wall-clock limit of a run of a job enqueued by a scheduled job (cron), unless its job function sets `timeLimit`. @default '3600s' (or `CONVEYOR_LIMIT_TIME_REAL_CRON`) */
  limitTimeRealCron?: Duration;
  /** On stop, how long running jobs may finish before they are aborted and released. @default '30s' */
  shutdownGrace?: Duration;
  /** Runner id (unique per process). @default `<host>:<pid>:<random>` */
  id?: string;
  /**
   * Where jobs run: `inline` in the event loop (fastest; limits abort the signal and free the slot), or
   * `process` in a pool of child processes that load `module` (hard limits: SIGTERM then SIGKILL).
   * @default 'inline'
   */
  isolation?: 'inline' | 'process';
  /** The module whose default export is this Conveyor with its models (needed by `isolation: 'process'`). */
  module?: string;
  /** CPU seconds one run may use (process isolation). @default '600s' (or `CONVEYOR_LIMIT_TIME_CPU`) */
  limitTimeCpu?: Duration;
  /** A worker process above this RSS (bytes, or '512mb') is recycled after its job. */
  limitMemorySoft?: number | string;
  /** A worker process above this RSS is killed at once. */
  limitMemoryHard?: number | string;
  /**
   * Process isolation: a worker process is recycled (stopped and replaced) after it has run this many
   * jobs, Odoo's `limit_request`; `0` = never. @default 65536 (Odoo's default, or `CONVEYOR_LIMIT_REQUEST`)
   */
  limitRequest?: number;
  /** Process isolation: time between SIGTERM and SIGKILL when a job passes a limit. @default '1500ms' */
  killGrace?: Duration;
  /** Channel capacities for this runner's claims, overriding the Conveyor's (`conveyor run --channels`). */
  channels?: string;
  /**
   * Publish job lifecycle events for `conveyor.events.subscribeRemote()` (one message per completion
   * batch): `'auto'` while some subscriber exists (looked up at start and on every heartbeat), `true`
   * always, `false` never. @default 'auto'
   */
  publishEvents?: boolean | 'auto';
}

const RUNNER_KEYS = [
  'workers',
  'prefetch',
  'pollInterval',
  'lease',
  'heartbeat',
  'maxCrashes',
  'limitTimeReal',
  'shutdownGrace',
  'id',
  'isolation',
  'channels',
  'module',
  'limitTimeCpu',
  'limitMemorySoft',
  'limitMemoryHard',
  'limitTimeRealCron',
  'killGrace',
  'limitRequest',
  'publishEvents',
];

/** What a runner needs from its Conveyor. */
export interface RunnerHost {
  readonly driver: Driver;
  readonly channels: ChannelTree;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly context: ContextApi;
  readonly events: EventHub;
  readonly models: ReadonlyMap<string, ModelDefinition>;
  readonly timeoutLog: { record(entry: TimeoutLogEntryInput): Promise<number> };
  /** OpenTelemetry spans (null or absent when `@opentelemetry/api` is not installed). */
  readonly telemetry?: Telemetry | null;
  /** Reload job function overrides stored by operators (called on every heartbeat). */
  loadJobFunctionOverrides?(): Promise<void>;
}

interface Running {
  job: JobRow;
  /** Aborts the job (shutdown): its signal fires and the run ends. */
  abort: RunAbort;
  done: Promise<void>;
  released: boolean;
  /** When it started (runner clock), for its deferred start write. */
  startedAt: number;
  /** Its `job.transaction()`, once called: settles when committed or rolled back (never rejects). */
  tx?: Promise<void>;
  /** Set when that transaction committed: the job is done in the database, nothing more to write. */
  committedAt?: number;
}

/**
 * A job taken from the buffer is marked `started` in the database only once it has run this long:
 * a shorter job goes from `enqueued` to `done` in one write instead of two (the end write carries the
 * start time). The cost: a job that kills its inline runner within this window is requeued without
 * counting a crash, like a job still in the buffer. Jobs started straight from a claim are stored as
 * started by the claim itself.
 */
const START_WRITE_DELAY_MS = 25;

/**
 * While heartbeats fail, one is retried this often. It is also the probe that finds the database back:
 * its success wakes the claim and write loops waiting on their backoffs (see recovery.ts).
 */
const HEARTBEAT_RETRY_MS = 250;
/** A heartbeat that has not answered after this long counts as failed and is retried (it may still land). */
const HEARTBEAT_TIMEOUT_MS = 5_000;
/**
 * The rescue's margin. Each landed heartbeat stores `lease_until = database now + lease + heartbeat +
 * LEASE_SLACK_MS`. The last heartbeat that landed before an outage is at most `heartbeat` older than the
 * outage's start, and the first retry lands within `HEARTBEAT_RETRY_MS` (plus a round trip) of its end,
 * which the slack covers: an outage shorter than `lease` can never get a live runner declared dead.
 */
const LEASE_SLACK_MS = 1_000;
/** Claim and write retries after a database error: doubling from 50 ms, at most 1 s (cut short by recovery). */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1_000;

interface Write {
  cmd: FinishCommand;
  job: JobRow;
  outcome?: Outcome;
  /** The run passed its time limit (for the `job_timed_out` remote event). */
  timeout?: { limitMs: number; kind: string };
}

/** Build the claim policy of a channel tree. */
export function claimPolicy(tree: ChannelTree): ClaimPolicy {
  // the state after the last claim (its running counts plus the jobs it took), for the next guess; an
  // empty queue keeps the channel that last had jobs pending, so the claim that follows a wake-up can
  // still be decided ahead
  let last: ChannelSnapshot | null = null;
  return {
    guess: (wanted) => (last ? guessClaim(tree, last, wanted) : null),
    observe: (snap, taken) => {
      const running = new Map(snap.running);
      for (const job of taken) running.set(job.channel, (running.get(job.channel) ?? 0) + 1);
      const pendingChannels = snap.pendingChannels.length || !last ? snap.pendingChannels : last.pendingChannels;
      last = { ...snap, running, pendingChannels };
    },
    sequentialChannels: tree.sequentialChannels(),
    throttledChannels: tree.throttledChannels(),
    planFetch: (snap, wanted) => planFetch(tree, snap, wanted),
    pickJobs: (snap, candidates, wanted) => {
      const pick = pickJobs(tree, snap, candidates, wanted);
      // a throttled channel that just started a job may have more waiting: look again when the throttle ends
      for (const [channel, at] of pick.lastStartedAt) {
        const end = at + (tree.node(channel)?.throttleMs ?? 0);
        if (pick.wakeAt === null || end < pick.wakeAt) pick.wakeAt = end;
      }
      return pick;
    },
  };
}

/** An in-process runner. Create it with `conveyor.runner(options)`. */
export class Runner {
  /** This runner's id (also in the runners table and on the jobs it holds). */
  readonly id: string;
  /** Job slots. */
  readonly workers: number;
  readonly #host: RunnerHost;
  /** `prefetch` when given; else null and {@link #adaptive} sizes the buffer. */
  readonly #fixedPrefetch: number | null;
  readonly #adaptive: AdaptivePrefetch;
  /** A slot was found idle with the buffer empty while the current claim was out. */
  #idleDuringClaim = false;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #maxCrashes: number;
  readonly #limitMs: number;
  readonly #limitCronMs: number;
  #cron: CronScheduler | null = null;
  readonly #graceMs: number;
  #policy: ClaimPolicy;
  /** The channel tree this runner claims with, runtime pauses applied (see {@link Runner.refreshPauses}). */
  #tree: ChannelTree;
  /** The root channel's capacity: no runner can hold more jobs than that, whatever its slots and prefetch. */
  readonly #rootCapacity: number;
  readonly #poolOptions: ProcessPoolOptions | null;
  #pool: ProcessPool | null = null;
  #buffer: JobRow[] = [];
  /** Ids of the jobs in {@link #buffer}, kept with it, so a claim checks for re-claims in O(1) per job. */
  #bufferedIds = new Set<number>();
  #running = new Map<number, Running>();
  #writes: Write[] = [];
  #flushing: Promise<void> | null = null;
  #claimLoops = new Set<Promise<void>>();
  #claimAgain = false;
  #capacityBlocked = false;
  /** The last claim left no due job behind (its `drained`): only a wake-up, an ETA or a retry claims again. */
  #drained = false;
  /** Counts the wake-ups that may have made a job due; a claim's `drained` is trusted only if none came during it. */
  #wakeSeq = 0;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #timers = new Set<NodeJS.Timeout>();
  /** Buffered jobs whose start write waits (FIFO, due times ascending), and the timer for the head. */
  #startQueue: { entry: Running; due: number }[] = [];
  #startTimer: NodeJS.Timeout | null = null;
  #wakeTimer: NodeJS.Timeout | null = null;
  #wakeAt = Infinity;
  #subscription: { close(): Promise<void> } | null = null;
  #stopped: Promise<void> | null = null;
  #onStopped: (() => void)[] = [];
  #startedAt = 0;
  readonly #publishMode: boolean | 'auto';
  /** Whether completions are published as remote events now. */
  #publishing = false;
  /** The chain of event publications (in order; awaited on stop). */
  #published: Promise<void> = Promise.resolve();
  readonly #recovery = new Recovery();
  readonly #claimBackoff = new Backoff(RETRY_MIN_MS, RETRY_MAX_MS);
  readonly #writeBackoff = new Backoff(RETRY_MIN_MS, RETRY_MAX_MS);
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #heartbeatsInFlight = 0;
  /** The last outcome write failed (the database is away): queued outcomes wait for it. */
  #writesFailing = false;
  /** Outcome writes sent and not yet answered: job id → attempt. */
  readonly #writesOut = new Map<number, number>();
  /** Jobs whose `job.transaction()` committed: later writes for them are stale by design, not races. */
  #transacted = new WeakSet<JobRow>();
  /** Callers of {@link untilIdle} waiting for the runner to run out of work. */
  #idleWaiters: (() => void)[] = [];
  #idleChecking = false;
  /** Claims made so far (an idle check is void once a newer claim exists). */
  #claims = 0;

  constructor(host: RunnerHost, options: RunnerOptions = {}) {
    checkOptions(options, RUNNER_KEYS, 'runner options');
    this.#host = host;
    const env = process.env;
    this.workers = checkInt(
      options.workers ?? (env.CONVEYOR_WORKERS ? Number(env.CONVEYOR_WORKERS) : 4),
      'runner option workers',
      1,
      10_000,
    );
    this.#fixedPrefetch =
      options.prefetch === undefined ? null : checkInt(options.prefetch, 'runner option prefetch', 0, 100_000);
    this.#adaptive = new AdaptivePrefetch({ workers: this.workers });
    this.#pollMs = parseDuration(
      options.pollInterval ?? (host.driver.crossProcessWakeups ? '5s' : '1s'),
      'runner option pollInterval',
    );
    this.#leaseMs = parseDuration(options.lease ?? '30s', 'runner option lease');
    this.#heartbeatMs = parseDuration(
      options.heartbeat ?? Math.max(10, Math.floor(this.#leaseMs / 3)),
      'runner option heartbeat',
    );
    if (this.#heartbeatMs >= this.#leaseMs)
      throw new ConfigurationError(
        `runner options: heartbeat (${this.#heartbeatMs} ms) must be shorter than lease (${this.#leaseMs} ms)`,
      );
    this.#maxCrashes = checkInt(options.maxCrashes ?? 3, 'runner option maxCrashes', 1);
    this.#limitMs = parseDuration(
      options.limitTimeReal ?? env.CONVEYOR_LIMIT_TIME_REAL ?? '1200s',
      'runner option limitTimeReal',
    );
    this.#limitCronMs = resolveLimitTimeRealCron(options.limitTimeRealCron);
    this.#graceMs = parseDuration(options.shutdownGrace ?? '30s', 'runner option shutdownGrace');
    if (options.isolation !== undefined && options.isolation !== 'inline' && options.isolation !== 'process') {
      throw new ConfigurationError(
        `runner option isolation: expected 'inline' or 'process', got ${describeValue(options.isolation)}`,
      );
    }
    if (
      options.publishEvents !== undefined &&
      typeof options.publishEvents !== 'boolean' &&
      options.publishEvents !== 'auto'
    ) {
      throw new ConfigurationError(
        `runner option publishEvents: expected true, false or 'auto', got ${describeValue(options.publishEvents)}`,
      );
    }
    this.#publishMode = options.publishEvents ?? 'auto';
    this.#publishing = this.#publishMode === true;
    this.#poolOptions = processPoolOptions(options, {
      size: this.workers,
      logger: host.logger,
      now: () => this.#now(),
    });
    this.id = options.id ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const tree = options.channels === undefined ? host.channels : ChannelTree.fromConfig(options.channels);
    this.#tree = tree;
    this.#policy = claimPolicy(tree);
    this.#rootCapacity = tree.node('root')?.capacity ?? Infinity;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running.size;
  }

  /** This runner's scheduler of scheduled jobs (null until started); `tick()` fires what is due now. */
  get cronScheduler(): CronScheduler | null {
    return this.#cron;
  }

  /** Jobs this runner claims ahead of its free slots now (its `prefetch`, or the adaptive size). */
  get prefetch(): number {
    return this.#fixedPrefetch ?? this.#adaptive.target;
  }

  /** Jobs claimed and waiting for a slot. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** `new`, `running`, `stopping` or `stopped`. */
  get state(): string {
    return this.#state;
  }

  /** @internal Called once the runner has stopped. */
  onStopped(fn: () => void): void {
    this.#onStopped.push(fn);
  }

  /**
   * Resolves once the runner has run out of work it can do now (`conveyor run --once`): it holds no job
   * (none running, buffered or waiting to be written), and a claim made after its last write found no job
   * it could start. Jobs with a future ETA (retries with a delay among them) and jobs waiting for parents
   * that are not finished are not due, so they do not keep it going; dependants released by its own runs
   * are, since that claim comes after their parents' writes. Due jobs held back by a limit keep it going
   * while the limit can lift by itself: a channel full of jobs in progress (on any runner) or a throttle;
   * a paused channel, or a sequential channel blocked by a failed job, does not. Also resolves when the
   * runner stops. Call `stop()` afterwards.
   */
  untilIdle(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#kick();
    return idle;
  }

  /** Register, subscribe to wake-ups, rescue dead runners' jobs, and start claiming. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new ConfigurationError(`runner ${this.id} was already started`);
    if (this.#poolOptions) {
      const pool = new ProcessPool(this.#poolOptions);
      await pool.start();
      this.#pool = pool;
    }
    this.#state = 'running';
    this.#startedAt = this.#now();
    await this.#register();
    await this.#checkEventListeners();
    this.#subscription = await this.#host.driver.subscribe((topic, origin) => this.#onWake(topic, origin));
    await this.refreshPauses().catch((err: unknown) => this.#error('channelPauseList', err));
    await this.#rescue();
    this.#scheduleHeartbeat(this.#heartbeatMs);
    this.#every(this.#pollMs, () => this.#kick());
    this.#cron = new CronScheduler(this.#host, { limitTimeRealCronMs: this.#limitCronMs, runnerId: this.id });
    this.#cron.start();
    if (this.workers > this.#rootCapacity) {
      this.#host.logger.warn(
        { runnerId: this.id, workers: this.workers, root: this.#rootCapacity },
        `runner has ${this.workers} workers but channel root allows ${this.#rootCapacity} job(s) at once across all runners: ` +
          `${this.workers - this.#rootCapacity} slot(s) will stay idle (raise root, e.g. channels 'root:${this.workers}', or lower workers)`,
      );
    }
    this.#host.events.emit('runner_started', { runnerId: this.id, workers: this.workers });
    this.#kick();
  }

  /**
   * Stop gracefully: stop claiming, give buffered jobs back, let running jobs finish within the grace
   * period, then abort and release the rest; write everything; unregister.
   */
  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#stopped = Promise.resolve();
      this.#onStopped.forEach((fn) => fn());
      return this.#stopped;
    }
    this.#state = 'stopping';
    this.#stopped = this.#shutdown();
    return this.#stopped;
  }

  async #shutdown(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    this.#recovery.wakeAll();
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    if (this.#startTimer) clearTimeout(this.#startTimer);
    this.#startQueue = [];
    await this.#cron?.stop();
    await this.#subscription?.close().catch(() => {});
    await Promise.all([...this.#claimLoops]);
    const now = this.#now();
    this.#bufferedIds.clear();
    for (const job of this.#buffer.splice(0))
      this.#write({ cmd: { kind: 'release', id: job.id, attempt: job.attempt, at: now }, job });
    if (this.#running.size) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#graceMs);
      });
      await Promise.race([Promise.all([...this.#running.values()].map((r) => r.done)), grace]);
      clearTimeout(timer);
      for (const r of this.#running.values()) {
        r.released = true;
        r.abort.abort(new Error(`runner ${this.id} is shutting down`));
        this.#write({ cmd: { kind: 'release', id: r.job.id, attempt: r.job.attempt, at: this.#now() }, job: r.job });
      }
    }
    await this.#pool?.close();
    await this.#drainWrites();
    await this.#published;
    await this.#host.driver.runnerRemove(this.id).catch((err: unknown) => this.#error('runnerRemove', err));
    this.#state = 'stopped';
    this.#idleWaiters.splice(0).forEach((fn) => fn());
    this.#host.events.emit('runner_stopped', { runnerId: this.id });
    this.#onStopped.forEach((fn) => fn());
  }

  // ---------------------------------------------------------------- claims

  #onWake(topic: WakeTopic, origin: string | null): void {
    if (topic === 'channels') {
      // a channel was paused or resumed: reload the pauses, then claim (a resume starts its jobs at once)
      void this.refreshPauses()
        .catch((err: unknown) => this.#error('channelPauseList', err))
        .then(() => this.#kick());
      return;
    }
    this.#cron?.poke();
    // capacity freed by this runner's own writes: #flush has already claimed again if it was worth it
    if (topic === 'freed' && origin === this.id) return;
    // something may have become due since the last claim: even if this runner is full now (and skips
    // this claim), its next freed slot must claim instead of trusting the last claim's `drained`
    if (topic === 'jobs') this.#mayBeDue();
    if (topic === 'jobs' || this.#capacityBlocked) this.#kick();
  }

  #kick(): void {
    if (this.#state !== 'running') return;
    if (this.#claimLoops.size) {
      this.#claimAgain = true;
      return;
    }
    const loop: Promise<void> = this.#claimLoop().finally(() => {
      this.#claimLoops.delete(loop);
      if (this.#claimAgain) {
        this.#claimAgain = false;
        this.#kick();
      }
    });
    this.#claimLoops.add(loop);
  }

  async #claimLoop(): Promise<void> {
    while (this.#state === 'running') {
      this.#claimAgain = false;
      const held = this.#running.size + this.#buffer.length;
      // never ask for more than the root channel could let this runner hold: with root:32 and a prefetch
      // of 500, a claim that asked for 500 would read and send hundreds of candidates to start a handful
      const wanted = Math.min(this.workers + this.prefetch - held, this.#rootCapacity - held);
      if (wanted <= 0) return;
      let res: Awaited<ReturnType<RunnerHost['driver']['jobClaim']>>;
      const seq = this.#wakeSeq;
      try {
        const startCount = Math.max(0, this.workers - this.#running.size - this.#buffer.length);
        this.#claims++;
        this.#idleDuringClaim = false;
        const t0 = performance.now();
        res = await this.#host.driver.jobClaim({
          runnerId: this.id,
          now: this.#now(),
          wanted,
          startCount,
          policy: this.#policy,
        });
        this.#adaptive.observeClaim(performance.now() - t0, this.#buffer.length);
        // slots waited for this claim and it brought work: the buffer was too small
        if (this.#idleDuringClaim && res.jobs.length) this.#adaptive.observeStarved();
        this.#claimBackoff.reset();
        this.#recovery.succeeded();
      } catch (err) {
        this.#error('jobClaim', err);
        this.#retryLater();
        return;
      }
      this.#accept(res.jobs);
      if (this.#state !== 'running') return;
      this.#capacityBlocked = res.capacityBlocked;
      // A claim that knows it left no due job behind (`drained`): with wake-ups from every process
      // (PostgreSQL's NOTIFY on each enqueue, requeue, rescue and released dependant), the next claim is
      // worth making only on a wake-up or an ETA, not each time a slot frees up. Without them (SQLite),
      // or when the claim cannot tell, freed slots keep claiming.
      // A wake-up that came while the claim was out may be for a job its snapshot did not see.
      this.#drained = this.#host.driver.crossProcessWakeups && res.drained === true && seq === this.#wakeSeq;
      if (res.wakeAt !== null) this.#wakeAtTime(res.wakeAt);
      if (this.#claimAgain) continue;
      if (!res.jobs.length && this.#idleWaiters.length) void this.#checkIdle(res.capacityBlocked, res.wakeAt);
      if (res.jobs.length < wanted) return;
      // A full claim: claim again at once only if the buffer is still at or below its low-water mark.
      // Above it, the room freed while this claim was out is small, and a claim's fixed cost (the lock,
      // the running counts, the round trip) would be spread over a handful of jobs; completions kick the
      // next claim when the buffer falls to the mark.
      if (!this.#bufferLow()) return;
    }
  }

  /** A job may have become due: the last claim's `drained` no longer holds. */
  #mayBeDue(): void {
    this.#drained = false;
    this.#wakeSeq++;
  }

  /** The buffer is at or below its low-water mark (half the prefetch): worth a claim. */
  #bufferLow(): boolean {
    return this.#buffer.length <= this.prefetch / 2;
  }

  /**
   * Claimed jobs into the buffer and the free slots; given back if the runner stopped meanwhile, or if
   * their channel was paused while the claim was out.
   */
  #accept(claimed: readonly JobRow[]): void {
    let jobs = claimed;
    if (!jobs.length) return;
    if (this.#state !== 'running') {
      const now = this.#now();
      for (const job of jobs) this.#write({ cmd: { kind: 'release', id: job.id, attempt: job.attempt, at: now }, job });
      return;
    }
    if (this.#running.size || this.#bufferedIds.size || this.#writes.length || this.#writesOut.size)
      jobs = this.#absorbReclaims(jobs);
    const accepted = this.#tree.pauses.size ? this.#releasePaused(jobs) : jobs;
    this.#buffer.push(...accepted);
    for (const job of accepted) this.#bufferedIds.add(job.id);
    this.#dispatch();
  }

  /**
   * A claim that hands this runner a job it still holds means the claim that gave it the job before is
   * gone: a PostgreSQL crash forgets a claim committed asynchronously (its attempt increment with it),
   * and a rescue or a requeue may give an `enqueued` job its try back. With the same attempt, the new
   * claim has the same fence `(id, attempt, runner)` as the old one, so the run this runner already has
   * (running, buffered, or finished with its outcome not yet written) completes the new claim: the
   * claimed copy is dropped, and the job does not run twice. A run of an older attempt has lost its
   * lease (its writes are stale): it is aborted and the new claim runs.
   */
  #absorbReclaims(jobs: readonly JobRow[]): readonly JobRow[] {
    // the common case, a claim of jobs this runner does not hold: one pass of lookups, no allocation
    let queued: Set<number> | null = null;
    const held = (id: number): boolean => {
      if (this.#running.has(id) || this.#bufferedIds.has(id) || this.#writesOut.has(id)) return true;
      // outcomes queued and not yet sent are flushed within one turn of the event loop, unless writes are
      // failing: then they wait for the database with the claims, and a claim may come back first
      if (!this.#writesFailing || !this.#writes.length) return false;
      queued ??= new Set(this.#writes.map((w) => w.cmd.id));
      return queued.has(id);
    };
    let any = false;
    for (const job of jobs)
      if (held(job.id)) {
        any = true;
        break;
      }
    if (!any) return jobs;
    const unwritten = (id: number): number | undefined =>
      this.#writesOut.get(id) ?? this.#writes.find((w) => w.cmd.id === id)?.cmd.attempt;
    const replaced = new Set<number>();
    const out: JobRow[] = [];
    for (const job of jobs) {
      const old = this.#running.get(job.id);
      if (old && old.job.attempt === job.attempt) {
        this.#reclaimed(job, 'running');
        continue;
      }
      if (old) {
        old.released = true;
        this.#running.delete(job.id);
        old.abort.abort(
          new JobLeaseLostError(
            `job ${job.id} was claimed again with attempt ${job.attempt}: this run of attempt ${old.job.attempt} has lost its lease`,
          ),
        );
        this.#race(old.job, 'claimed again');
      }
      if (this.#bufferedIds.has(job.id))
        replaced.add(job.id); // the new claim's copy replaces the buffered one
      else if (unwritten(job.id) === job.attempt) {
        this.#reclaimed(job, 'finished, its outcome being written');
        continue;
      }
      out.push(job);
    }
    if (replaced.size) this.#buffer = this.#buffer.filter((j) => !replaced.has(j.id));
    return out;
  }

  #reclaimed(job: JobRow, what: string): void {
    this.#host.logger.warn(
      { jobId: job.id, attempt: job.attempt, runnerId: this.id },
      `a job this runner holds (${what}) was claimed again: its previous claim was lost (e.g. by a database crash); the run it has completes the new claim`,
    );
  }

  /** Give back the jobs of `jobs` whose channel is paused now; returns the others. */
  #releasePaused(jobs: readonly JobRow[]): JobRow[] {
    const now = this.#now();
    return jobs.filter((job) => {
      let paused: boolean;
      try {
        paused = this.#tree.path(job.channel).some((n) => n.paused);
      } catch {
        paused = false;
      }
      if (paused) this.#write({ cmd: { kind: 'release', id: job.id, attempt: job.attempt, at: now }, job });
      return !paused;
    });
  }

  /**
   * Reload the channels paused at runtime (done at start, at every heartbeat and on a `channels`
   * wake-up). When they changed, later claims use them and buffered jobs of paused channels are given
   * back; running jobs finish. Resolves to true when the pauses changed.
   */
  async refreshPauses(): Promise<boolean> {
    const next = this.#tree.withPauses(await this.#host.driver.channelPauseList());
    if (next === this.#tree) return false;
    this.#tree = next;
    this.#policy = claimPolicy(next);
    if (next.pauses.size) {
      this.#buffer = this.#releasePaused(this.#buffer);
      this.#bufferedIds = new Set(this.#buffer.map((j) => j.id));
    }
    const paused = [...next.pauses.keys()];
    this.#host.logger.info(
      { runnerId: this.id, paused },
      paused.length ? 'channels paused at runtime changed' : 'no channel is paused at runtime now',
    );
    this.#host.events.emit('runner_channels_paused', { runnerId: this.id, paused });
    return true;
  }

  /** Claim again after a failed claim: on this loop's backoff, or as soon as the database answers again. */
  #retryLater(): void {
    // a claim that failed may have missed a due job: the next freed slot claims too
    this.#drained = false;
    void this.#recovery.wait(this.#claimBackoff.next()).then(() => this.#kick());
  }

  #wakeAtTime(at: number): void {
    if (at >= this.#wakeAt) return;
    this.#wakeAt = at;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeTimer = setTimeout(
      () => {
        this.#wakeTimer = null;
        this.#wakeAt = Infinity;
        this.#mayBeDue(); // an ETA or throttle ended: claim now, or at the next freed slot if full
        this.#kick();
      },
      Math.max(0, at - this.#now()) + 5,
    );
  }

  /** No job running, buffered, waiting to be written or being written. */
  #holdsNothing(): boolean {
    return !this.#running.size && !this.#buffer.length && !this.#writes.length && !this.#writesOut.size;
  }

  /** After a claim that took nothing: resolve the untilIdle() waiters unless a limit that lifts by itself holds due jobs back. */
  async #checkIdle(capacityBlocked: boolean, wakeAt: number | null): Promise<void> {
    if (this.#idleChecking || !this.#holdsNothing()) return;
    this.#idleChecking = true;
    const claims = this.#claims;
    try {
      if (capacityBlocked) {
        // a throttle ends by itself (its end is the claim's wakeAt, and the wake timer claims again then)
        const throttle = Math.max(
          0,
          ...this.#policy.throttledChannels.map((ch) => this.#tree.node(ch)?.throttleMs ?? 0),
        );
        if (wakeAt !== null && wakeAt <= this.#now() + throttle) return;
        // capacity taken by jobs in progress frees up when they end (their writes wake or the poll claims)
        const inProgress = await this.#host.driver.jobCount({ state: ['enqueued', 'started'], groupBy: [] });
        if (inProgress.reduce((n, r) => n + r.count, 0) > 0) {
          if (!this.#host.driver.crossProcessWakeups) this.#wakeAtTime(this.#now() + Math.min(this.#pollMs, 250));
          return;
        }
      }
      // another claim was made or asked for meanwhile: it checks again
      if (!this.#holdsNothing() || this.#claimAgain || this.#claims !== claims) return;
      this.#idleWaiters.splice(0).forEach((fn) => fn());
    } catch (err) {
      this.#error('idleCheck', err);
      this.#retryLater();
    } finally {
      this.#idleChecking = false;
    }
  }

  // ---------------------------------------------------------------- running jobs

  #dispatch(): void {
    while (this.#running.size < this.workers && this.#buffer.length && this.#state === 'running') {
      const job = this.#buffer.shift()!;
      this.#bufferedIds.delete(job.id);
      this.#runJob(job);
    }
  }

  #runJob(job: JobRow): void {
    const startedAt = this.#now();
    const t0 = performance.now();
    const entry: Running = { job, abort: new RunAbort(), done: Promise.resolve(), released: false, startedAt };
    this.#running.set(job.id, entry);
    // jobs the claim stored as started need no start write; buffered ones get it if they run long enough
    if (job.state === 'enqueued') this.#deferStart(entry);
    const events = this.#host.events;
    if (events.has('job_started'))
      events.emit('job_started', {
        id: job.id,
        model: job.model,
        method: job.method,
        channel: job.channel,
        attempt: job.attempt,
        runnerId: this.id,
      });
    const settings = this.#host.models.get(job.model)?.settings.get(job.method);
    const limitMs = job.timeLimitMs ?? settings?.timeLimitMs ?? this.#limitMs;
    const driver = this.#host.driver;
    const persistProgress = async (progress: JobProgress) => {
      const r = await driver.jobProgress({ id: job.id, attempt: job.attempt, runnerId: this.id, progress });
      if (r === 'stale') this.#race(job, 'progress');
    };
    const persistCheckpoint = async (value: unknown) => {
      const r = await driver.jobCheckpoint({
        id: job.id,
        attempt: job.attempt,
        runnerId: this.id,
        checkpoint: value === undefined ? null : encodeJson(value, 'checkpoint'),
      });
      if (r === 'stale') this.#race(job, 'checkpoint');
    };
    const recordTimeout = async (e: TimeoutLogEntryInput) => {
      await this.#host.timeoutLog.record(e);
    };
    const txJob = { id: job.id, attempt: job.attempt, runnerId: this.id, startedAt, hasDependants: job.hasDependants };
    // the trace context stored at enqueue is for the run's span, not part of the job's own context
    const { carrier, context } = splitTraceContext(job.context);
    const runJob = carrier ? { ...job, context } : job;
    const span = this.#host.telemetry?.startRun(job, carrier);
    const start = (): Promise<ExecuteResult & { killed?: string | null }> =>
      this.#pool
        ? this.#pool.execute(runJob, {
            limitMs,
            signal: entry.abort.controller.signal,
            settings,
            onProgress: persistProgress,
            onCheckpoint: persistCheckpoint,
            onTimeoutLog: recordTimeout,
            transaction: txJob,
            onCommitted: (at) => this.#committed(entry, at),
          })
        : executeJob({
            job: runJob,
            models: this.#host.models,
            limitMs,
            logger: this.#host.logger,
            context: this.#host.context,
            abort: entry.abort,
            now: () => this.#now(),
            persistProgress,
            persistCheckpoint,
            recordTimeout,
            transaction: (fn, signal) => this.#transaction(entry, txJob, fn, signal),
          });
    const run = span ? span.activate(start) : start();
    const end = (r: ExecuteResult & { killed?: string | null }) => {
      if (this.#running.get(job.id) === entry) this.#running.delete(job.id);
      this.#adaptive.observeRun(performance.now() - t0);
      let outcome: RunOutcome;
      if (entry.committedAt !== undefined) {
        this.#endCommitted(entry, r);
        outcome = 'done';
      } else if (entry.released) outcome = 'released';
      else outcome = this.#finish(job, r.outcome, r.startedAt, r.endedAt, r.timedOut, limitMs, r.killed ?? 'timeout');
      span?.end(outcome, r.outcome.kind === 'done' ? null : r.outcome.error);
      this.#dispatch();
      if (!this.#buffer.length && this.#claimLoops.size && this.#running.size < this.workers)
        this.#idleDuringClaim = true;
      if (this.#bufferLow() && !this.#drained) this.#kick();
    };
    // a transaction still open when the run ended (time limit, shutdown) settles first: it decides the outcome
    entry.done = run.then((r) => (entry.tx ? entry.tx.then(() => end(r)) : end(r)));
  }

  /** `job.transaction()` of an inline run: the job's writes and its completion in one fenced transaction. */
  async #transaction(
    entry: Running,
    txJob: JobTransactionJob,
    fn: (db: unknown) => unknown,
    signal: AbortSignal,
  ): Promise<unknown> {
    let settle!: () => void;
    entry.tx = new Promise<void>((resolve) => {
      settle = resolve;
    });
    try {
      // a buffered job's start write must not wait behind the transaction's row lock: let one in flight land first
      if (entry.job.state === 'enqueued' && this.#flushing) await this.#flushing;
      const r = await this.#host.driver.jobTransaction({
        job: txJob,
        fn,
        encodeResult: encodeTransactionResult,
        now: () => this.#now(),
        signal,
      });
      this.#committed(entry, r.at);
      return r.value;
    } finally {
      settle();
    }
  }

  /** The job's transaction committed: it is done in the database; the runner writes nothing more for this run. */
  #committed(entry: Running, at: number): void {
    entry.committedAt = at;
    this.#transacted.add(entry.job);
  }

  /** The end of a run whose `job.transaction()` committed: no outcome write, `job_done` once. */
  #endCommitted(entry: Running, r: ExecuteResult): void {
    const { job } = entry;
    if (r.outcome.kind !== 'done') {
      this.#host.logger.warn(
        { jobId: job.id, job: `${job.model}.${job.method}`, attempt: job.attempt, err: r.outcome.error.message },
        'the job ended with an error after its job.transaction() committed: it stays done (its transaction recorded it)',
      );
    }
    const ev = this.#host.events;
    if (ev.has('job_done'))
      ev.emit('job_done', {
        id: job.id,
        model: job.model,
        method: job.method,
        channel: job.channel,
        attempt: job.attempt,
        durationMs: entry.committedAt! - entry.startedAt,
      });
    // the capacity it held was freed by the commit, as by a flush of completions
    if (this.#capacityBlocked) this.#kick();
  }

  #deferStart(entry: Running): void {
    this.#startQueue.push({ entry, due: performance.now() + START_WRITE_DELAY_MS });
    if (!this.#startTimer) this.#armStarts();
  }

  #armStarts(): void {
    const head = this.#startQueue[0];
    if (!head || this.#state !== 'running') return;
    this.#startTimer = setTimeout(
      () => {
        this.#startTimer = null;
        const now = performance.now();
        let n = 0;
        for (; n < this.#startQueue.length && this.#startQueue[n]!.due <= now; n++) {
          const { entry } = this.#startQueue[n]!;
          const { job } = entry;
          // (a job in its own transaction gets no start write: the transaction stores the start time)
          if (!entry.released && !entry.tx && this.#running.get(job.id) === entry)
            this.#write({ cmd: { kind: 'start', id: job.id, attempt: job.attempt, at: entry.startedAt }, job });
        }
        this.#startQueue.splice(0, n);
        this.#armStarts();
      },
      Math.max(0, head.due - performance.now()) + 1,
    );
  }

  /** Queue the outcome's write; returns how the run ended. */
  #finish(
    job: JobRow,
    outcome: Outcome,
    startedAt: number,
    at: number,
    timedOut: boolean,
    limitMs: number,
    kind = 'timeout',
  ): RunOutcome {
    const base = { id: job.id, attempt: job.attempt, startedAt, at };
    const err = outcome.kind === 'done' ? null : outcome.error;
    const exc = err ? { excName: err.name, excMessage: err.message, excInfo: err.stack ?? null } : null;
    if (timedOut) {
      this.#host.events.emit('job_timed_out', {
        id: job.id,
        model: job.model,
        method: job.method,
        attempt: job.attempt,
        limitMs,
        kind,
      });
    }
    if (outcome.kind === 'done') {
      let result: string | null;
      try {
        result = outcome.result === undefined ? null : encodeJson(outcome.result, 'result');
      } catch (e) {
        const error = e as Error;
        this.#write({
          cmd: {
            kind: 'failed',
            ...base,
            outcome: 'failed',
            excName: error.name,
            excMessage: error.message,
            excInfo: error.stack ?? null,
          },
          job,
          outcome: { kind: 'failed', reason: 'error', error },
        });
        return 'failed';
      }
      this.#write({ cmd: { kind: 'done', ...base, result, hasDependants: job.hasDependants }, job, outcome });
      return 'done';
    } else if (outcome.kind === 'retry') {
      this.#write({
        cmd: {
          kind: 'retry',
          ...base,
          eta: at + outcome.delayMs,
          countTry: outcome.countTry,
          outcome: timedOut ? 'timed_out' : 'retried',
          ...exc!,
        },
        job,
        outcome,
        ...(timedOut ? { timeout: { limitMs, kind } } : {}),
      });
      return timedOut ? 'timed_out' : 'retried';
    } else {
      const message =
        outcome.reason === 'max_retries' ? `Max. retries (${job.maxRetries}) reached: ${err!.message}` : err!.message;
      this.#write({
        cmd: { kind: 'failed', ...base, outcome: timedOut ? 'timed_out' : 'failed', ...exc!, excMessage: message },
        job,
        outcome,
        ...(timedOut ? { timeout: { limitMs, kind } } : {}),
      });
      return timedOut ? 'timed_out' : 'failed';
    }
  }

  // ---------------------------------------------------------------- writes

  #write(w: Write): void {
    this.#writes.push(w);
    this.#scheduleFlush();
  }

  /** Group commit: everything written in this turn of the event loop goes out in one batch. */
  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#flush())
      .finally(() => {
        this.#flushing = null;
        // a write queued after #flush's loop saw the queue empty but before this callback ran (a job that
        // failed at once, e.g. of an unknown model, dispatched by the claim that this flush kicked) would
        // otherwise wait for some later write
        if (this.#writes.length && this.#state !== 'stopped') this.#scheduleFlush();
      });
  }

  async #flush(): Promise<void> {
    while (this.#writes.length) {
      let batch = this.#writes.splice(0, 2000);
      // a start and an end of the same run in one batch: the end carries the start time
      const ending = new Set(batch.filter((w) => w.cmd.kind !== 'start').map((w) => w.cmd.id));
      batch = batch.filter((w) => w.cmd.kind !== 'start' || !ending.has(w.cmd.id));
      let results: Awaited<ReturnType<RunnerHost['driver']['jobFinishMany']>>;
      for (const w of batch) this.#writesOut.set(w.cmd.id, w.cmd.attempt);
      try {
        results = await this.#host.driver.jobFinishMany(
          this.id,
          batch.map((w) => w.cmd),
        );
        for (const w of batch) this.#writesOut.delete(w.cmd.id);
        this.#writesFailing = false;
        this.#writeBackoff.reset();
        this.#recovery.succeeded();
      } catch (err) {
        for (const w of batch) this.#writesOut.delete(w.cmd.id);
        this.#writesFailing = true;
        this.#error('jobFinishMany', err);
        this.#writes.unshift(...batch);
        if (this.#state === 'stopped') return;
        // finished jobs hold their channel capacity until this lands: retry on this loop's own short
        // backoff, and at once when any call of this runner succeeds again
        await this.#recovery.wait(this.#writeBackoff.next());
        continue;
      }
      let freed = false;
      const remote: RemoteEvent[] | null = this.#publishing ? [] : null;
      batch.forEach((w, i) => {
        if (results[i] === 'stale') {
          this.#race(w.job, w.cmd.kind);
          return;
        }
        if (w.cmd.kind !== 'start') freed = true;
        if (w.cmd.kind === 'retry' || w.cmd.kind === 'release') this.#drained = false; // pending again: worth a claim
        this.#emitOutcome(w);
        if (remote) this.#remoteEvents(w, remote);
      });
      if (remote?.length) this.#publish(remote);
      // freed capacity matters when the last claim was held back by it, or when the buffer runs low
      if (freed && (this.#capacityBlocked || (this.#bufferLow() && !this.#drained))) this.#kick();
      // untilIdle(): the last run is written; a claim now sees what it released (dependants, retries)
      else if (this.#idleWaiters.length && this.#holdsNothing()) this.#kick();
    }
  }

  async #drainWrites(): Promise<void> {
    const deadline = Date.now() + Math.max(this.#graceMs, 5_000);
    while ((this.#flushing || this.#writes.length) && Date.now() < deadline) {
      if (!this.#flushing && this.#writes.length)
        this.#flushing = this.#flush().finally(() => {
          this.#flushing = null;
        });
      await Promise.race([this.#flushing, new Promise((r) => setTimeout(r, 1000))]);
    }
  }

  #emitOutcome(w: Write): void {
    const ev = this.#host.events;
    const { job, cmd } = w;
    if (cmd.kind === 'done') {
      if (ev.has('job_done'))
        ev.emit('job_done', {
          id: job.id,
          model: job.model,
          method: job.method,
          channel: job.channel,
          attempt: job.attempt,
          durationMs: cmd.at - cmd.startedAt,
        });
    } else if (cmd.kind === 'retry') {
      ev.emit('job_retried', {
        id: job.id,
        model: job.model,
        method: job.method,
        attempt: job.attempt,
        eta: cmd.eta,
        error: cmd.excMessage ?? '',
      });
      this.#host.logger.info(
        {
          jobId: job.id,
          job: `${job.model}.${job.method}`,
          attempt: job.attempt,
          retryIn: `${Math.round((cmd.eta - cmd.at) / 1000)}s`,
        },
        `job retried: ${cmd.excMessage ?? ''}`,
      );
    } else if (cmd.kind === 'failed') {
      ev.emit('job_failed', {
        id: job.id,
        model: job.model,
        method: job.method,
        attempt: job.attempt,
        error: cmd.excMessage ?? '',
      });
      this.#host.logger.warn(
        { jobId: job.id, job: `${job.model}.${job.method}`, attempt: job.attempt },
        `job failed: ${cmd.excName ?? 'Error'}: ${cmd.excMessage ?? ''}`,
      );
    }
  }

  /** The remote events of one written outcome. */
  #remoteEvents(w: Write, out: RemoteEvent[]): void {
    const { job, cmd } = w;
    const base = { runnerId: this.id, id: job.id, model: job.model, method: job.method, attempt: job.attempt };
    if (w.timeout) out.push({ event: 'job_timed_out', ...base, limitMs: w.timeout.limitMs, kind: w.timeout.kind });
    if (cmd.kind === 'done')
      out.push({ event: 'job_done', ...base, channel: job.channel, durationMs: cmd.at - cmd.startedAt });
    else if (cmd.kind === 'retry')
      out.push({ event: 'job_retried', ...base, eta: cmd.eta, error: cmd.excMessage ?? '' });
    else if (cmd.kind === 'failed') out.push({ event: 'job_failed', ...base, error: cmd.excMessage ?? '' });
  }

  /** Publish a batch's events (one message, split under 8000 bytes), after the previous publication. */
  #publish(events: RemoteEvent[]): void {
    const payloads = packRemoteEvents(events);
    this.#published = this.#published
      .then(() => this.#host.driver.publishEvents(payloads))
      .catch((err: unknown) => this.#error('publishEvents', err));
  }

  #race(job: JobRow, command: string): void {
    if (this.#transacted.has(job)) return; // done by its own transaction: a later write of the run is stale by design
    this.#host.events.emit('job_race', { id: job.id, attempt: job.attempt, runnerId: this.id, command });
  }

  // ---------------------------------------------------------------- lease

  #info(): Record<string, unknown> {
    const mem = process.memoryUsage();
    return {
      running: this.#running.size,
      buffered: this.#buffer.length,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      isolation: this.#pool ? 'process' : 'inline',
      version: 1,
    };
  }

  /** The lease stored with each heartbeat (see LEASE_SLACK_MS). */
  get #storedLeaseMs(): number {
    return this.#leaseMs + this.#heartbeatMs + LEASE_SLACK_MS;
  }

  async #register(): Promise<void> {
    await this.#host.driver.runnerRegister({
      id: this.id,
      host: os.hostname(),
      pid: process.pid,
      workers: this.workers,
      startedAt: this.#startedAt,
      leaseMs: this.#storedLeaseMs,
      info: this.#info(),
    });
  }

  #scheduleHeartbeat(ms: number): void {
    if (this.#state !== 'running') return;
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = null;
      void this.#heartbeat();
    }, ms);
  }

  /**
   * Renew the lease; when that fails, retry every HEARTBEAT_RETRY_MS until one lands (a heartbeat
   * that hangs counts as failed after HEARTBEAT_TIMEOUT_MS). Then rescue dead runners' jobs and
   * reload job function overrides.
   */
  async #heartbeat(): Promise<void> {
    const started = performance.now();
    let renewed = false;
    // a hung connection must not stop the heartbeats, but nor should a slow server get a pile of them
    if (this.#heartbeatsInFlight < 3) {
      this.#heartbeatsInFlight++;
      const renewal = this.#renewLease().finally(() => {
        this.#heartbeatsInFlight--;
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), HEARTBEAT_TIMEOUT_MS);
      });
      try {
        renewed = await Promise.race([renewal, timeout]);
      } catch (err) {
        this.#error('heartbeat', err);
      } finally {
        clearTimeout(timer);
      }
    }
    if (this.#state !== 'running') return;
    if (!renewed) {
      this.#scheduleHeartbeat(HEARTBEAT_RETRY_MS);
      return;
    }
    this.#scheduleHeartbeat(Math.max(0, this.#heartbeatMs - (performance.now() - started)));
    try {
      await this.#rescue();
      await this.#host.loadJobFunctionOverrides?.();
      if (await this.refreshPauses()) this.#kick();
      await this.#checkEventListeners();
    } catch (err) {
      this.#error('heartbeat', err);
    }
  }

  async #renewLease(): Promise<boolean> {
    const alive = await this.#host.driver.runnerHeartbeat({
      id: this.id,
      leaseMs: this.#storedLeaseMs,
      info: this.#info(),
    });
    this.#recovery.succeeded();
    if (!alive) {
      this.#host.logger.warn({ runnerId: this.id }, 'this runner was declared dead (lease expired); registering again');
      await this.#register();
    }
    return true;
  }

  /** `publishEvents: 'auto'`: publish while some process subscribes to remote events. */
  async #checkEventListeners(): Promise<void> {
    if (this.#publishMode !== 'auto') return;
    try {
      this.#publishing = await this.#host.driver.eventListeners();
    } catch (err) {
      this.#error('eventListeners', err);
    }
  }

  async #rescue(): Promise<void> {
    const rescued = await this.#host.driver.jobRescue({ maxCrashes: this.#maxCrashes });
    for (const r of rescued) {
      this.#host.events.emit('job_rescued', r);
      this.#host.logger.warn(
        { jobId: r.id, deadRunner: r.runnerId, state: r.state },
        r.wasStarted
          ? 'rescued a job whose runner died while running it'
          : 'requeued a job claimed by a runner that died',
      );
    }
  }

  // ---------------------------------------------------------------- helpers

  #now(): number {
    return this.#host.clock.now();
  }

  #every(ms: number, fn: () => unknown): void {
    const t = setInterval(() => {
      void fn();
    }, ms);
    this.#timers.add(t);
  }

  #error(operation: string, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.#host.events.emit('runner_error', { runnerId: this.id, error, operation });
    this.#host.logger.error({ runnerId: this.id, operation, err: error }, 'runner error');
  }
}
