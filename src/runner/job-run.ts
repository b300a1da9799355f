/**
 * Running claimed jobs: buffered jobs go to free slots ({@link JobRuns.dispatch}), each runs inline
 * (executor.ts) or in the process pool, and its end queues its outcome write and frees its slot.
 * @module
 */
import type { JobTransactionJob } from '../drivers/driver.ts';
import { encodeJson } from '../internal/json.ts';
import type { RunOutcome } from '../internal/telemetry.ts';
import { splitTraceContext } from '../internal/telemetry.ts';
import type { JobProgress, JobRow } from '../job/row.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import { encodeTransactionResult, executeJob, RunAbort, type ExecuteResult } from './executor.ts';
import type { JobEvents } from './job-events.ts';
import { queueOutcome } from './outcome-write.ts';
import type { RunnerContext } from './runner-context.ts';
import type { RunningJob } from './running-job.ts';
import type { StartWrites } from './start-writes.ts';
import { runTimeLimitMs } from './time-limits.ts';
import type { WriteQueue } from './write-queue.ts';

/** The runs of a runner's slots. */
export class JobRuns {
  readonly #ctx: RunnerContext;
  readonly #writes: WriteQueue;
  readonly #starts: StartWrites;
  readonly #events: JobEvents;
  /** `limitTimeReal` (ms): the limit of a run whose job and job function set none. */
  readonly #limitMs: number;

  constructor(ctx: RunnerContext, writes: WriteQueue, starts: StartWrites, events: JobEvents, limitMs: number) {
    this.#ctx = ctx;
    this.#writes = writes;
    this.#starts = starts;
    this.#events = events;
    this.#limitMs = limitMs;
  }

  /** Start buffered jobs in the free slots. */
  dispatch(): void {
    const ctx = this.#ctx;
    while (ctx.running.size < ctx.workers && ctx.buffer.length && ctx.phase === 'running') {
      const job = ctx.buffer.shift()!;
      ctx.bufferedIds.delete(job.id);
      this.#run(job);
    }
  }

  #run(job: JobRow): void {
    const ctx = this.#ctx;
    const host = ctx.host;
    const startedAt = ctx.now();
    const t0 = performance.now();
    const entry: RunningJob = { job, abort: new RunAbort(), done: Promise.resolve(), released: false, startedAt };
    ctx.running.set(job.id, entry);
    // jobs the claim stored as started need no start write; buffered ones get it if they run long enough
    if (job.state === 'enqueued') this.#starts.defer(entry);
    this.#events.started(job);
    const settings = host.models.get(job.model)?.settings.get(job.method);
    const limitMs = runTimeLimitMs(job, settings, this.#limitMs);
    const driver = host.driver;
    const persistProgress = async (progress: JobProgress) => {
      const r = await driver.jobProgress({ id: job.id, attempt: job.attempt, runnerId: ctx.id, progress });
      if (r === 'stale') this.#events.race(job, 'progress');
    };
    const persistCheckpoint = async (value: unknown) => {
      const r = await driver.jobCheckpoint({
        id: job.id,
        attempt: job.attempt,
        runnerId: ctx.id,
        checkpoint: value === undefined ? null : encodeJson(value, 'checkpoint'),
      });
      if (r === 'stale') this.#events.race(job, 'checkpoint');
    };
    const recordTimeout = async (e: TimeoutLogEntryInput) => {
      await host.timeoutLog.record(e);
    };
    const txJob = { id: job.id, attempt: job.attempt, runnerId: ctx.id, startedAt, hasDependants: job.hasDependants };
    // the trace context stored at enqueue is for the run's span, not part of the job's own context
    const { carrier, context } = splitTraceContext(job.context);
    const runJob = carrier ? { ...job, context } : job;
    const span = host.telemetry?.startRun(job, carrier);
    const start = (): Promise<ExecuteResult & { killed?: string | null }> =>
      ctx.pool
        ? ctx.pool.execute(runJob, {
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
            models: host.models,
            limitMs,
            logger: host.logger,
            context: host.context,
            abort: entry.abort,
            now: () => ctx.now(),
            persistProgress,
            persistCheckpoint,
            recordTimeout,
            transaction: (fn, signal) => this.#transaction(entry, txJob, fn, signal),
          });
    const run = span ? span.activate(start) : start();
    const end = (r: ExecuteResult & { killed?: string | null }) => {
      if (ctx.running.get(job.id) === entry) ctx.running.delete(job.id);
      ctx.adaptive.observeRun(performance.now() - t0);
      let outcome: RunOutcome;
      if (entry.committedAt !== undefined) {
        this.#events.committedRunEnded(entry, r);
        // the capacity it held was freed by the commit, as by a flush of completions
        if (ctx.capacityBlocked) ctx.claims.kick();
        outcome = 'done';
      } else if (entry.released) outcome = 'released';
      else
        outcome = queueOutcome(
          this.#writes,
          this.#events,
          job,
          r.outcome,
          r.startedAt,
          r.endedAt,
          r.timedOut,
          limitMs,
          r.killed ?? 'timeout',
        );
      span?.end(outcome, r.outcome.kind === 'done' ? null : r.outcome.error);
      this.dispatch();
      ctx.claims.slotFreed();
    };
    // a transaction still open when the run ended (time limit, shutdown) settles first: it decides the outcome
    entry.done = run.then((r) => (entry.tx ? entry.tx.then(() => end(r)) : end(r)));
  }

  /** `job.transaction()` of an inline run: the job's writes and its completion in one fenced transaction. */
  async #transaction(
    entry: RunningJob,
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
      if (entry.job.state === 'enqueued' && this.#writes.flushing) await this.#writes.flushing;
      const r = await this.#ctx.host.driver.jobTransaction({
        job: txJob,
        fn,
        encodeResult: encodeTransactionResult,
        now: () => this.#ctx.now(),
        signal,
      });
      this.#committed(entry, r.at);
      return r.value;
    } finally {
      settle();
    }
  }

  /** The job's transaction committed: it is done in the database; the runner writes nothing more for this run. */
  #committed(entry: RunningJob, at: number): void {
    entry.committedAt = at;
    this.#events.transacted(entry.job);
  }
}
