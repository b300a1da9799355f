/**
 * `runner.untilIdle()` (`conveyor run --once`): deciding that the runner has run out of work it can do
 * now, after a claim that took nothing.
 * @module
 */
import { RUNNING_STATES } from '../job/states.ts';
import type { RunnerContext } from './runner-context.ts';
import type { WriteQueue } from './write-queue.ts';

/** What the idle check needs from the claim loop. */
export interface ClaimProgress {
  /** Claims made so far (an idle check is void once a newer claim exists). */
  readonly claims: number;
  /** A claim was asked for while one was out. */
  readonly again: boolean;
  /** Claim again after a failure (on the claim backoff). */
  retryLater(): void;
  /** Claim again at `at` (runner clock). */
  wakeAt(at: number): void;
}

/** No job running, buffered, waiting to be written or being written. */
export function holdsNothing(ctx: RunnerContext, writes: WriteQueue): boolean {
  return !ctx.running.size && !ctx.buffer.length && writes.empty;
}

/** The callers of `untilIdle()` and the check that resolves them. */
export class IdleCheck {
  readonly #ctx: RunnerContext;
  readonly #writes: WriteQueue;
  readonly #pollMs: number;
  /** Callers waiting for the runner to run out of work. */
  #waiters: (() => void)[] = [];
  #checking = false;

  constructor(ctx: RunnerContext, writes: WriteQueue, pollMs: number) {
    this.#ctx = ctx;
    this.#writes = writes;
    this.#pollMs = pollMs;
  }

  /** Someone waits in `untilIdle()`. */
  get waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /** Resolves when a check finds the runner idle, or {@link resolveAll} is called. */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Resolve every waiter (idle, or the runner stopped). */
  resolveAll(): void {
    this.#waiters.splice(0).forEach((fn) => fn());
  }

  /** After a claim that took nothing: resolve the waiters unless a limit that lifts by itself holds due jobs back. */
  async check(capacityBlocked: boolean, wakeAt: number | null, claims: ClaimProgress): Promise<void> {
    const ctx = this.#ctx;
    if (this.#checking || !holdsNothing(ctx, this.#writes)) return;
    this.#checking = true;
    const claimCount = claims.claims;
    try {
      if (capacityBlocked) {
        // a throttle ends by itself (its end is the claim's wakeAt, and the wake timer claims again then)
        const throttle = Math.max(0, ...ctx.policy.throttledChannels.map((ch) => ctx.tree.node(ch)?.throttleMs ?? 0));
        if (wakeAt !== null && wakeAt <= ctx.now() + throttle) return;
        // capacity taken by jobs in progress frees up when they end (their writes wake or the poll claims)
        const inProgress = await ctx.host.driver.jobCount({ state: RUNNING_STATES, groupBy: [] });
        if (inProgress.reduce((n, r) => n + r.count, 0) > 0) {
          if (!ctx.host.driver.crossProcessWakeups) claims.wakeAt(ctx.now() + Math.min(this.#pollMs, 250));
          return;
        }
      }
      // another claim was made or asked for meanwhile: it checks again
      if (!holdsNothing(ctx, this.#writes) || claims.again || claims.claims !== claimCount) return;
      this.resolveAll();
    } catch (err) {
      ctx.error('idleCheck', err);
      claims.retryLater();
    } finally {
      this.#checking = false;
    }
  }
}
