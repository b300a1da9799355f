/**
 * Deferred start writes: a job taken from the buffer is marked `started` in the database only once it
 * has run for {@link START_WRITE_DELAY_MS}.
 * @module
 */
import type { RunnerContext } from './runner-context.ts';
import type { RunningJob } from './running-job.ts';
import type { WriteQueue } from './write-queue.ts';

/**
 * A shorter job goes from `enqueued` to `done` in one write instead of two (the end write carries the
 * start time). The cost: a job that kills its inline runner within this window is requeued without
 * counting a crash, like a job still in the buffer. Jobs started straight from a claim are stored as
 * started by the claim itself.
 */
export const START_WRITE_DELAY_MS = 25;

/** Buffered jobs whose start write waits (FIFO, due times ascending), and the timer for the head. */
export class StartWrites {
  readonly #ctx: RunnerContext;
  readonly #writes: WriteQueue;
  #queue: { entry: RunningJob; due: number }[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(ctx: RunnerContext, writes: WriteQueue) {
    this.#ctx = ctx;
    this.#writes = writes;
  }

  /** Write the job's start if it is still running {@link START_WRITE_DELAY_MS} from now. */
  defer(entry: RunningJob): void {
    this.#queue.push({ entry, due: performance.now() + START_WRITE_DELAY_MS });
    if (!this.#timer) this.#arm();
  }

  /** Drop what waits (shutdown: the run's end or release write carries it). */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#queue = [];
  }

  #arm(): void {
    const head = this.#queue[0];
    if (!head || this.#ctx.phase !== 'running') return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        const now = performance.now();
        const running = this.#ctx.running;
        let n = 0;
        for (; n < this.#queue.length && this.#queue[n]!.due <= now; n++) {
          const { entry } = this.#queue[n]!;
          const { job } = entry;
          // (a job in its own transaction gets no start write: the transaction stores the start time)
          if (!entry.released && !entry.tx && running.get(job.id) === entry)
            this.#writes.push({ cmd: { kind: 'start', id: job.id, attempt: job.attempt, at: entry.startedAt }, job });
        }
        this.#queue.splice(0, n);
        this.#arm();
      },
      Math.max(0, head.due - performance.now()) + 1,
    );
  }
}
