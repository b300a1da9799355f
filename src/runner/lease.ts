/**
 * The runner's lease: registration, heartbeats that renew it (retried while the database is away), and
 * after each renewal the rescue of dead runners' jobs and the reloads (job function overrides, channel
 * pauses, remote event subscribers).
 * @module
 */
import os from 'node:os';
import type { ClaimLoop } from './claim-loop.ts';
import type { JobEvents } from './job-events.ts';
import { refreshPauses } from './paused-channels.ts';
import type { RunnerContext } from './runner-context.ts';
import type { WriteQueue } from './write-queue.ts';

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

/** The lease's settings (`lease`, `heartbeat`, `maxCrashes` of the runner options, in ms). */
export interface LeaseSettings {
  leaseMs: number;
  heartbeatMs: number;
  maxCrashes: number;
}

/** A runner's lease and the maintenance done with each heartbeat (see the module comment). */
export class Lease {
  readonly #ctx: RunnerContext;
  readonly #settings: LeaseSettings;
  readonly #writes: WriteQueue;
  readonly #events: JobEvents;
  readonly #claims: ClaimLoop;
  #timer: NodeJS.Timeout | null = null;
  #inFlight = 0;
  /** When the runner started (runner clock; stored with its registration). */
  startedAt = 0;

  constructor(ctx: RunnerContext, settings: LeaseSettings, writes: WriteQueue, events: JobEvents, claims: ClaimLoop) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#writes = writes;
    this.#events = events;
    this.#claims = claims;
  }

  /** The lease stored with each heartbeat (see LEASE_SLACK_MS). */
  get #storedLeaseMs(): number {
    return this.#settings.leaseMs + this.#settings.heartbeatMs + LEASE_SLACK_MS;
  }

  /** Register the runner (its row in the runners table, with its lease). */
  async register(): Promise<void> {
    const ctx = this.#ctx;
    await ctx.host.driver.runnerRegister({
      id: ctx.id,
      host: os.hostname(),
      pid: process.pid,
      workers: ctx.workers,
      startedAt: this.startedAt,
      leaseMs: this.#storedLeaseMs,
      info: this.#info(),
    });
  }

  /** Start the heartbeats (the first one a heartbeat period from now). */
  start(): void {
    this.#schedule(this.#settings.heartbeatMs);
  }

  /** Stop the heartbeats. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** Requeue, or fail, the jobs of runners whose lease expired. */
  async rescue(): Promise<void> {
    const host = this.#ctx.host;
    const rescued = await host.driver.jobRescue({ maxCrashes: this.#settings.maxCrashes });
    for (const r of rescued) {
      host.events.emit('job_rescued', r);
      host.logger.warn(
        { jobId: r.id, deadRunner: r.runnerId, state: r.state },
        r.wasStarted
          ? 'rescued a job whose runner died while running it'
          : 'requeued a job claimed by a runner that died',
      );
    }
  }

  #info(): Record<string, unknown> {
    const ctx = this.#ctx;
    const mem = process.memoryUsage();
    return {
      running: ctx.running.size,
      buffered: ctx.buffer.length,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      isolation: ctx.pool ? 'process' : 'inline',
      version: 1,
    };
  }

  #schedule(ms: number): void {
    if (this.#ctx.phase !== 'running') return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#heartbeat();
    }, ms);
  }

  /**
   * Renew the lease; when that fails, retry every HEARTBEAT_RETRY_MS until one lands (a heartbeat
   * that hangs counts as failed after HEARTBEAT_TIMEOUT_MS). Then rescue dead runners' jobs and
   * reload job function overrides, channel pauses and whether to publish events.
   */
  async #heartbeat(): Promise<void> {
    const ctx = this.#ctx;
    const started = performance.now();
    let renewed = false;
    // a hung connection must not stop the heartbeats, but nor should a slow server get a pile of them
    if (this.#inFlight < 3) {
      this.#inFlight++;
      const renewal = this.#renew().finally(() => {
        this.#inFlight--;
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), HEARTBEAT_TIMEOUT_MS);
      });
      try {
        renewed = await Promise.race([renewal, timeout]);
      } catch (err) {
        ctx.error('heartbeat', err);
      } finally {
        clearTimeout(timer);
      }
    }
    if (ctx.phase !== 'running') return;
    if (!renewed) {
      this.#schedule(HEARTBEAT_RETRY_MS);
      return;
    }
    this.#schedule(Math.max(0, this.#settings.heartbeatMs - (performance.now() - started)));
    try {
      await this.rescue();
      await ctx.host.loadJobFunctionOverrides?.();
      if (await refreshPauses(ctx, this.#writes)) this.#claims.kick();
      await this.#events.checkListeners();
    } catch (err) {
      ctx.error('heartbeat', err);
    }
  }

  async #renew(): Promise<boolean> {
    const ctx = this.#ctx;
    const alive = await ctx.host.driver.runnerHeartbeat({
      id: ctx.id,
      leaseMs: this.#storedLeaseMs,
      info: this.#info(),
    });
    ctx.recovery.succeeded();
    if (!alive) {
      ctx.host.logger.warn({ runnerId: ctx.id }, 'this runner was declared dead (lease expired); registering again');
      await this.register();
    }
    return true;
  }
}
