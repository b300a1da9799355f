/**
 * The runner's outcome writes, batched: every start, end and release queued in one turn of the event
 * loop goes to the database in one `jobWriteMany` call, sent while the previous one is in flight
 * (group commit). A failed batch is retried on its own backoff, and at once when any call of the
 * runner succeeds again (see recovery.ts).
 * @module
 */
import type { RemoteEvent } from '../events.ts';
import type { FenceResult } from '../drivers/driver.ts';
import type { JobEvents } from './job-events.ts';
import type { QueuedWrite } from './queued-write.ts';
import { Backoff, RETRY_MAX_MS, RETRY_MIN_MS } from './recovery.ts';
import type { RunnerContext } from './runner-context.ts';

/** Commands per `jobWriteMany` call. */
const BATCH_MAX = 2000;

/** The queue of outcome writes and its flush loop (see the module comment). */
export class WriteQueue {
  readonly #ctx: RunnerContext;
  readonly #events: JobEvents;
  readonly #backoff = new Backoff(RETRY_MIN_MS, RETRY_MAX_MS);
  /** Writes waiting for the next batch. */
  readonly queued: QueuedWrite[] = [];
  /** The flush running now (one at a time). */
  flushing: Promise<void> | null = null;
  /** Outcome writes sent and not yet answered: job id → attempt. */
  readonly sent = new Map<number, number>();
  /** The last outcome write failed (the database is away): queued outcomes wait for it. */
  failing = false;

  constructor(ctx: RunnerContext, events: JobEvents) {
    this.#ctx = ctx;
    this.#events = events;
  }

  /** Nothing queued and nothing being written. */
  get empty(): boolean {
    return !this.queued.length && !this.sent.size;
  }

  /** The attempt of a write for job `id` queued or in flight, if any. */
  attemptOf(id: number): number | undefined {
    return this.sent.get(id) ?? this.queued.find((w) => w.cmd.id === id)?.cmd.attempt;
  }

  /** Queue a write; it goes out with this turn of the event loop's batch. */
  push(w: QueuedWrite): void {
    this.queued.push(w);
    this.#schedule();
  }

  /** Group commit: everything written in this turn of the event loop goes out in one batch. */
  #schedule(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#flush())
      .finally(() => {
        this.flushing = null;
        // a write queued after #flush's loop saw the queue empty but before this callback ran (a job that
        // failed at once, e.g. of an unknown model, dispatched by the claim that this flush kicked) would
        // otherwise wait for some later write
        if (this.queued.length && this.#ctx.phase !== 'stopped') this.#schedule();
      });
  }

  async #flush(): Promise<void> {
    const ctx = this.#ctx;
    while (this.queued.length) {
      let batch = this.queued.splice(0, BATCH_MAX);
      // a start and an end of the same run in one batch: the end carries the start time
      const ending = new Set(batch.filter((w) => w.cmd.kind !== 'start').map((w) => w.cmd.id));
      batch = batch.filter((w) => w.cmd.kind !== 'start' || !ending.has(w.cmd.id));
      let results: FenceResult[];
      for (const w of batch) this.sent.set(w.cmd.id, w.cmd.attempt);
      try {
        results = await ctx.host.driver.jobWriteMany(
          ctx.id,
          batch.map((w) => w.cmd),
        );
        for (const w of batch) this.sent.delete(w.cmd.id);
        this.failing = false;
        this.#backoff.reset();
        ctx.recovery.succeeded();
      } catch (err) {
        for (const w of batch) this.sent.delete(w.cmd.id);
        this.failing = true;
        ctx.error('jobWriteMany', err);
        this.queued.unshift(...batch);
        if (ctx.phase === 'stopped') return;
        // finished jobs hold their channel capacity until this lands: retry on this loop's own short
        // backoff, and at once when any call of this runner succeeds again
        await ctx.recovery.wait(this.#backoff.next());
        continue;
      }
      let freed = false;
      const events = this.#events;
      const remote: RemoteEvent[] | null = events.publishing ? [] : null;
      batch.forEach((w, i) => {
        if (results[i] === 'stale') {
          events.race(w.job, w.cmd.kind);
          return;
        }
        if (w.cmd.kind !== 'start') freed = true;
        if (w.cmd.kind === 'retry' || w.cmd.kind === 'release') ctx.drained = false; // pending again: worth a claim
        events.written(w);
        if (remote) events.remote(w, remote);
      });
      if (remote?.length) events.publish(remote);
      // freed capacity may be worth a claim
      ctx.claims.batchWritten(freed);
    }
  }

  /** On stop: write what is queued, for at most `graceMs` (and at least 5 s). */
  async drain(graceMs: number): Promise<void> {
    const deadline = Date.now() + Math.max(graceMs, 5_000);
    while ((this.flushing || this.queued.length) && Date.now() < deadline) {
      if (!this.flushing && this.queued.length)
        this.flushing = this.#flush().finally(() => {
          this.flushing = null;
        });
      await Promise.race([this.flushing, new Promise((r) => setTimeout(r, 1000))]);
    }
  }
}
