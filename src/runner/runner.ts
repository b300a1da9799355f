/**
 * The runner: claims jobs (exact channel capacities, serialised claim), runs them in its slots, writes
 * their outcomes in batches, heartbeats its lease and rescues jobs of runners that died.
 *
 * Flow: `ClaimLoop.kick()` → the claim loop (claim-loop.ts) fills the local buffer (`enqueued` jobs
 * leased to this runner, up to `workers + prefetch`) → `JobRuns.dispatch()` (job-run.ts) starts
 * buffered jobs in free slots → each outcome goes to the write queue (write-queue.ts), which sends
 * everything queued in one driver call while the previous one is in flight (group commit) → a batch
 * that freed capacity kicks the claim loop again. The lease (lease.ts) heartbeats alongside. This
 * class wires those parts, starts and stops them.
 * @module
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { ChannelTree } from '../channels/tree.ts';
import type { WakeTopic } from '../drivers/driver.ts';
import { ConfigurationError } from '../errors.ts';
import { ClaimLoop } from './claim-loop.ts';
import { CronScheduler } from './cron-scheduler.ts';
import { processPoolOptions } from './isolation/options.ts';
import { ProcessPool, type ProcessPoolOptions } from './isolation/process-pool.ts';
import { JobEvents } from './job-events.ts';
import { JobRuns } from './job-run.ts';
import { Lease } from './lease.ts';
import { resolveRunnerOptions, type RunnerOptions } from './options.ts';
import { refreshPauses } from './paused-channels.ts';
import { RunnerContext } from './runner-context.ts';
import type { RunnerHost } from './runner-host.ts';
import { StartWrites } from './start-writes.ts';
import { WriteQueue } from './write-queue.ts';

/** An in-process runner. Create it with `conveyor.runner(options)`. */
export class Runner {
  /** This runner's id (also in the runners table and on the jobs it holds). */
  readonly id: string;
  /** Job slots. */
  readonly workers: number;
  readonly #ctx: RunnerContext;
  readonly #pollMs: number;
  readonly #graceMs: number;
  readonly #limitCronMs: number;
  readonly #poolOptions: ProcessPoolOptions | null;
  readonly #events: JobEvents;
  readonly #writes: WriteQueue;
  readonly #starts: StartWrites;
  readonly #claims: ClaimLoop;
  readonly #lease: Lease;
  #cron: CronScheduler | null = null;
  #timers = new Set<NodeJS.Timeout>();
  #subscription: { close(): Promise<void> } | null = null;
  #stopped: Promise<void> | null = null;
  #onStopped: (() => void)[] = [];

  constructor(host: RunnerHost, options: RunnerOptions = {}) {
    const settings = resolveRunnerOptions(options, host.driver.crossProcessWakeups);
    this.workers = settings.workers;
    this.#pollMs = settings.pollMs;
    this.#graceMs = settings.graceMs;
    this.#limitCronMs = settings.limitCronMs;
    this.#poolOptions = processPoolOptions(options, {
      size: this.workers,
      logger: host.logger,
      now: () => host.clock.now(),
    });
    this.id = options.id ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const tree = options.channels === undefined ? host.channels : ChannelTree.fromConfig(options.channels);
    const ctx = new RunnerContext(host, this.id, this.workers, settings.fixedPrefetch, tree);
    this.#ctx = ctx;
    this.#events = new JobEvents(ctx, settings.publishMode);
    this.#writes = new WriteQueue(ctx, this.#events);
    this.#starts = new StartWrites(ctx, this.#writes);
    const runs = new JobRuns(ctx, this.#writes, this.#starts, this.#events, settings.limitMs);
    this.#claims = new ClaimLoop(ctx, this.#writes, this.#events, runs, settings.pollMs);
    this.#lease = new Lease(ctx, settings, this.#writes, this.#events, this.#claims);
  }

  /** Jobs running now. */
  get running(): number {
    return this.#ctx.running.size;
  }

  /** This runner's scheduler of scheduled jobs (null until started); `tick()` fires what is due now. */
  get cronScheduler(): CronScheduler | null {
    return this.#cron;
  }

  /** Jobs this runner claims ahead of its free slots now (its `prefetch`, or the adaptive size). */
  get prefetch(): number {
    return this.#ctx.prefetch;
  }

  /** Jobs claimed and waiting for a slot. */
  get buffered(): number {
    return this.#ctx.buffer.length;
  }

  /** `new`, `running`, `stopping` or `stopped`. */
  get state(): string {
    return this.#ctx.phase;
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
    const phase = this.#ctx.phase;
    if (phase === 'stopped' || phase === 'stopping') return Promise.resolve();
    const idle = this.#claims.idle.wait();
    this.#claims.kick();
    return idle;
  }

  /** Register, subscribe to wake-ups, rescue dead runners' jobs, and start claiming. */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.phase !== 'new') throw new ConfigurationError(`runner ${this.id} was already started`);
    if (this.#poolOptions) {
      const pool = new ProcessPool(this.#poolOptions);
      await pool.start();
      ctx.pool = pool;
    }
    ctx.phase = 'running';
    this.#lease.startedAt = ctx.now();
    await this.#lease.register();
    await this.#events.checkListeners();
    this.#subscription = await ctx.host.driver.subscribe((topic, origin) => this.#onWake(topic, origin));
    await this.refreshPauses().catch((err: unknown) => ctx.error('channelPauseList', err));
    await this.#lease.rescue();
    this.#lease.start();
    const poll = setInterval(() => {
      this.#claims.kick();
    }, this.#pollMs);
    this.#timers.add(poll);
    this.#cron = new CronScheduler(ctx.host, { limitTimeRealCronMs: this.#limitCronMs, runnerId: this.id });
    this.#cron.start();
    if (this.workers > ctx.rootCapacity) {
      ctx.host.logger.warn(
        { runnerId: this.id, workers: this.workers, root: ctx.rootCapacity },
        `runner has ${this.workers} workers but channel root allows ${ctx.rootCapacity} job(s) at once across all runners: ` +
          `${this.workers - ctx.rootCapacity} slot(s) will stay idle (raise root, e.g. channels 'root:${this.workers}', or lower workers)`,
      );
    }
    ctx.host.events.emit('runner_started', { runnerId: this.id, workers: this.workers });
    this.#claims.kick();
  }

  /**
   * Stop gracefully: stop claiming, give buffered jobs back, let running jobs finish within the grace
   * period, then abort and release the rest; write everything; unregister.
   */
  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    if (this.#ctx.phase === 'new') {
      this.#ctx.phase = 'stopped';
      this.#stopped = Promise.resolve();
      this.#onStopped.forEach((fn) => fn());
      return this.#stopped;
    }
    this.#ctx.phase = 'stopping';
    this.#stopped = this.#shutdown();
    return this.#stopped;
  }

  /**
   * Reload the channels paused at runtime (done at start, at every heartbeat and on a `channels`
   * wake-up). When they changed, later claims use them and buffered jobs of paused channels are given
   * back; running jobs finish. Resolves to true when the pauses changed.
   */
  refreshPauses(): Promise<boolean> {
    return refreshPauses(this.#ctx, this.#writes);
  }

  async #shutdown(): Promise<void> {
    const ctx = this.#ctx;
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    this.#lease.stop();
    ctx.recovery.wakeAll();
    this.#claims.stopWaking();
    this.#starts.clear();
    await this.#cron?.stop();
    await this.#subscription?.close().catch(() => {});
    await this.#claims.settled();
    const now = ctx.now();
    ctx.bufferedIds.clear();
    for (const job of ctx.buffer.splice(0))
      this.#writes.push({ cmd: { kind: 'release', id: job.id, attempt: job.attempt, at: now }, job });
    if (ctx.running.size) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#graceMs);
      });
      await Promise.race([Promise.all([...ctx.running.values()].map((r) => r.done)), grace]);
      clearTimeout(timer);
      for (const r of ctx.running.values()) {
        r.released = true;
        r.abort.abort(new Error(`runner ${this.id} is shutting down`));
        this.#writes.push({
          cmd: { kind: 'release', id: r.job.id, attempt: r.job.attempt, at: ctx.now() },
          job: r.job,
        });
      }
    }
    await ctx.pool?.close();
    await this.#writes.drain(this.#graceMs);
    await this.#events.published;
    await ctx.host.driver.runnerRemove(this.id).catch((err: unknown) => ctx.error('runnerRemove', err));
    ctx.phase = 'stopped';
    this.#claims.idle.resolveAll();
    ctx.host.events.emit('runner_stopped', { runnerId: this.id });
    this.#onStopped.forEach((fn) => fn());
  }

  #onWake(topic: WakeTopic, origin: string | null): void {
    const ctx = this.#ctx;
    if (topic === 'channels') {
      // a channel was paused or resumed: reload the pauses, then claim (a resume starts its jobs at once)
      void this.refreshPauses()
        .catch((err: unknown) => ctx.error('channelPauseList', err))
        .then(() => this.#claims.kick());
      return;
    }
    this.#cron?.poke();
    // capacity freed by this runner's own writes: the write queue has already claimed again if it was worth it
    if (topic === 'freed' && origin === this.id) return;
    // something may have become due since the last claim: even if this runner is full now (and skips
    // this claim), its next freed slot must claim instead of trusting the last claim's `drained`
    if (topic === 'jobs') ctx.mayBeDue();
    if (topic === 'jobs' || ctx.capacityBlocked) this.#claims.kick();
  }
}
