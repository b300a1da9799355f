/**
 * The claim loop: one claim out at a time, asking for what the free slots and the buffer can take
 * (`workers + prefetch`, at most the root channel's capacity), the claimed jobs into the buffer and the
 * slots, and the decisions of when to claim again (a freed slot, a wake-up, an ETA, a retry).
 * @module
 */
import type { JobClaimResult } from '../drivers/driver.ts';
import type { JobRow } from '../job/row.ts';
import { holdsNothing, IdleCheck, type ClaimProgress } from './idle-check.ts';
import type { JobEvents } from './job-events.ts';
import type { JobRuns } from './job-run.ts';
import { releasePaused } from './paused-channels.ts';
import { absorbReclaims } from './reclaims.ts';
import { Backoff, RETRY_MAX_MS, RETRY_MIN_MS } from './recovery.ts';
import type { ClaimTrigger, RunnerContext } from './runner-context.ts';
import type { WriteQueue } from './write-queue.ts';

/** A runner's claims (see the module comment). */
export class ClaimLoop implements ClaimTrigger, ClaimProgress {
  readonly #ctx: RunnerContext;
  readonly #writes: WriteQueue;
  readonly #events: JobEvents;
  readonly #runs: JobRuns;
  readonly #backoff = new Backoff(RETRY_MIN_MS, RETRY_MAX_MS);
  /** A retry after a failed claim is scheduled (see retryLater). */
  #retryPending = false;
  /** The callers of `untilIdle()`. */
  readonly idle: IdleCheck;
  /** The loop running now (at most one). */
  readonly #loops = new Set<Promise<void>>();
  /** A claim was asked for while one was out: the loop claims once more. */
  again = false;
  /** Claims made so far. */
  claims = 0;
  #wakeTimer: NodeJS.Timeout | null = null;
  #wakeAt = Infinity;

  constructor(ctx: RunnerContext, writes: WriteQueue, events: JobEvents, runs: JobRuns, pollMs: number) {
    this.#ctx = ctx;
    this.#writes = writes;
    this.#events = events;
    this.#runs = runs;
    this.idle = new IdleCheck(ctx, writes, pollMs);
    ctx.claims = this;
  }

  /** Claim now, or once the claim that is out returns. */
  kick(): void {
    if (this.#ctx.phase !== 'running') return;
    if (this.#loops.size) {
      this.again = true;
      return;
    }
    const loop: Promise<void> = this.#loop().finally(() => {
      this.#loops.delete(loop);
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
    this.#loops.add(loop);
  }

  /** A run ended: its slot took the next buffered job; claim if the buffer runs low. */
  slotFreed(): void {
    const ctx = this.#ctx;
    if (!ctx.buffer.length && this.#loops.size && ctx.running.size < ctx.workers) ctx.idleDuringClaim = true;
    if (ctx.bufferLow() && !ctx.drained) this.kick();
  }

  /** A batch of writes landed. */
  batchWritten(freed: boolean): void {
    const ctx = this.#ctx;
    // freed capacity matters when the last claim was held back by it, or when the buffer runs low
    if (freed && (ctx.capacityBlocked || (ctx.bufferLow() && !ctx.drained))) this.kick();
    // untilIdle(): the last run is written; a claim now sees what it released (dependants, retries)
    else if (this.idle.waiting && holdsNothing(ctx, this.#writes)) this.kick();
  }

  /** Claim again after a failed claim: on this loop's backoff, or as soon as the database answers again. */
  retryLater(): void {
    // a claim that failed may have missed a due job: the next freed slot claims too
    this.#ctx.drained = false;
    // one retry at a time: a claim kicked by something else meanwhile (a wake-up, a freed slot) that fails
    // too must not start a second chain of retries, or the chains add up for as long as the outage lasts
    if (this.#retryPending) return;
    this.#retryPending = true;
    void this.#ctx.recovery.wait(this.#backoff.next()).then(() => {
      this.#retryPending = false;
      this.kick();
    });
  }

  /** Claim at `at` (an ETA or a throttle's end; runner clock), unless an earlier wake is set. */
  wakeAt(at: number): void {
    if (at >= this.#wakeAt) return;
    this.#wakeAt = at;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeTimer = setTimeout(
      () => {
        this.#wakeTimer = null;
        this.#wakeAt = Infinity;
        this.#ctx.mayBeDue(); // an ETA or throttle ended: claim now, or at the next freed slot if full
        this.kick();
      },
      Math.max(0, at - this.#ctx.now()) + 5,
    );
  }

  /** No more timed claims (shutdown). */
  stopWaking(): void {
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
  }

  /** Resolves once the claim that is out (if any) has returned. */
  async settled(): Promise<void> {
    await Promise.all([...this.#loops]);
  }

  async #loop(): Promise<void> {
    const ctx = this.#ctx;
    while (ctx.phase === 'running') {
      this.again = false;
      const held = ctx.running.size + ctx.buffer.length;
      // never ask for more than the root channel could let this runner hold: with root:32 and a prefetch
      // of 500, a claim that asked for 500 would read and send hundreds of candidates to start a handful
      const wanted = Math.min(ctx.workers + ctx.prefetch - held, ctx.rootCapacity - held);
      if (wanted <= 0) return;
      let res: JobClaimResult;
      const seq = ctx.wakeSeq;
      try {
        const startCount = Math.max(0, ctx.workers - ctx.running.size - ctx.buffer.length);
        this.claims++;
        ctx.idleDuringClaim = false;
        const t0 = performance.now();
        res = await ctx.host.driver.jobClaim({
          runnerId: ctx.id,
          now: ctx.now(),
          wanted,
          startCount,
          policy: ctx.policy,
        });
        ctx.adaptive.observeClaim(performance.now() - t0, ctx.buffer.length);
        // slots waited for this claim and it brought work: the buffer was too small
        if (ctx.idleDuringClaim && res.jobs.length) ctx.adaptive.observeStarved();
        this.#backoff.reset();
        ctx.recovery.succeeded();
      } catch (err) {
        ctx.error('jobClaim', err);
        this.retryLater();
        return;
      }
      this.#accept(res.jobs);
      if (ctx.phase !== 'running') return;
      ctx.capacityBlocked = res.capacityBlocked;
      // A claim that knows it left no due job behind (`drained`): with wake-ups from every process
      // (PostgreSQL's NOTIFY on each enqueue, requeue, rescue and released dependant), the next claim is
      // worth making only on a wake-up or an ETA, not each time a slot frees up. Without them (SQLite),
      // or when the claim cannot tell, freed slots keep claiming.
      // A wake-up that came while the claim was out may be for a job its snapshot did not see.
      ctx.drained = ctx.host.driver.crossProcessWakeups && res.drained === true && seq === ctx.wakeSeq;
      if (res.wakeAt !== null) this.wakeAt(res.wakeAt);
      if (this.again) continue;
      if (!res.jobs.length && this.idle.waiting) void this.idle.check(res.capacityBlocked, res.wakeAt, this);
      if (res.jobs.length < wanted) return;
      // A full claim: claim again at once only if the buffer is still at or below its low-water mark.
      // Above it, the room freed while this claim was out is small, and a claim's fixed cost (the lock,
      // the running counts, the round trip) would be spread over a handful of jobs; completions kick the
      // next claim when the buffer falls to the mark.
      if (!ctx.bufferLow()) return;
    }
  }

  /**
   * Claimed jobs into the buffer and the free slots; given back if the runner stopped meanwhile, or if
   * their channel was paused while the claim was out.
   */
  #accept(claimed: readonly JobRow[]): void {
    const ctx = this.#ctx;
    let jobs = claimed;
    if (!jobs.length) return;
    if (ctx.phase !== 'running') {
      const now = ctx.now();
      for (const job of jobs)
        this.#writes.push({ cmd: { kind: 'release', id: job.id, attempt: job.attempt, at: now }, job });
      return;
    }
    if (ctx.running.size || ctx.bufferedIds.size || !this.#writes.empty)
      jobs = absorbReclaims(ctx, this.#writes, this.#events, jobs);
    const accepted = ctx.tree.pauses.size ? releasePaused(ctx, this.#writes, jobs) : jobs;
    ctx.buffer.push(...accepted);
    for (const job of accepted) ctx.bufferedIds.add(job.id);
    this.#runs.dispatch();
  }
}
