/**
 * How a runner's loops come back after database errors (an outage, a restart, a killed connection).
 *
 * Each loop (claims, outcome writes, heartbeats) keeps a {@link Backoff} of its own, so one loop's
 * failures never slow another's retries, and all of them wait through one {@link Recovery}: the first
 * call that succeeds again (any loop's, typically the heartbeat, which probes every few hundred
 * milliseconds while it fails) wakes every waiting loop at once. Work therefore resumes within about
 * one probe interval of the database answering, instead of each loop sleeping out its own delay.
 * @module
 */

/** The shortest retry delay of the claim and write loops after a database error (ms). */
export const RETRY_MIN_MS = 50;
/** The longest one: doubling from 50 ms reaches it after five failures (cut short by {@link Recovery}). */
export const RETRY_MAX_MS = 1_000;

/** A per-loop retry delay: doubles from `minMs` up to `maxMs` with jitter; `reset()` after a success. */
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  #delayMs = 0;

  constructor(minMs: number, maxMs: number) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
  }

  /** The next delay (ms): the previous one doubled, between min and max, times a jitter in [0.5, 1). */
  next(): number {
    this.#delayMs = Math.min(this.#maxMs, Math.max(this.#minMs, this.#delayMs * 2));
    return this.#delayMs * (0.5 + Math.random() / 2);
  }

  /** Back to the shortest delay. */
  reset(): void {
    this.#delayMs = 0;
  }
}

/** Loops waiting to retry after a database error, woken together when the database answers again. */
export class Recovery {
  #waiters = new Set<() => void>();

  /** Loops waiting now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** A database call succeeded: wake every waiting loop. */
  succeeded(): void {
    if (!this.#waiters.size) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Wait `ms`, or less if a database call succeeds meanwhile (or {@link wakeAll} is called). */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#waiters.add(wake);
    });
  }

  /** Wake every waiting loop (shutdown). */
  wakeAll(): void {
    this.succeeded();
  }
}
