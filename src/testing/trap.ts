/**
 * `trapJobs()`: record delayed calls instead of storing them, assert on them, and run them inline
 * (queue_job's `trap_jobs()` / `JobsTrap`). Recording, performing and the assertions live in their own
 * modules; this one ties them to a Conveyor.
 * @module
 */
import type { Conveyor } from '../conveyor.ts';
import { ValidationError, describeValue } from '../errors.ts';
import type { MethodRef } from '../model/method-ref.ts';
import * as assertions from './assertions.ts';
import type { CountOptions, ExpectedJob } from './assertions.ts';
import { TrapLedger } from './ledger.ts';
import { performEnqueued } from './perform-jobs.ts';
import { recordCalls } from './record-calls.ts';
import type { TrappedCall, TrappedJob } from './trapped-job.ts';

/** The recorder returned by {@link trapJobs}. */
export class JobsTrap {
  readonly #conveyor: Conveyor;
  readonly #ledger: TrapLedger;
  #remove: (() => void) | null;

  /** @internal Use {@link trapJobs}. */
  constructor(conveyor: Conveyor) {
    if (!conveyor || typeof (conveyor as { installTrap?: unknown }).installTrap !== 'function') {
      throw new ValidationError(`trapJobs(): expected a Conveyor, got ${describeValue(conveyor)}`);
    }
    this.#conveyor = conveyor;
    this.#ledger = new TrapLedger(() => conveyor.clock.now());
    this.#remove = conveyor.installTrap((nodes, edges) => recordCalls(conveyor, this.#ledger, nodes, edges));
  }

  /** Every delayed call, in order, including identity-key duplicates. */
  get calls(): readonly TrappedCall[] {
    return [...this.#ledger.calls];
  }

  /** Jobs that would be stored and have not been performed yet, deduplicated by identity key. */
  get enqueuedJobs(): readonly TrappedJob[] {
    return [...this.#ledger.enqueued];
  }

  /** Whether the trap still records (false after {@link restore}). */
  get active(): boolean {
    return this.#remove !== null;
  }

  /** Stop recording: delayed calls are stored again. Idempotent. */
  restore(): void {
    this.#remove?.();
    this.#remove = null;
  }

  /** Same as {@link restore}, for `using trap = trapJobs(conveyor)`. */
  [Symbol.dispose](): void {
    this.restore();
  }

  /** Count the enqueued jobs (not performed yet), of one method with `only`. */
  jobsCount(options: CountOptions = {}): number {
    return assertions.selectJobs(this.#conveyor, this.#ledger, options, 'jobsCount()').jobs.length;
  }

  /** @throws AssertionError listing the enqueued jobs when the count differs */
  assertJobsCount(expected: number, options: CountOptions = {}): void {
    assertions.assertJobsCount(this.#conveyor, this.#ledger, expected, options, this.assertJobsCount);
  }

  /**
   * Assert that `method` was delayed with exactly these records and arguments and at least these
   * properties. Identity-key duplicates count (every call is checked).
   * @throws AssertionError listing every call when none matches
   */
  assertEnqueuedJob(method: MethodRef, expected: ExpectedJob = {}): void {
    assertions.assertEnqueuedJob(this.#conveyor, this.#ledger, method, expected, this.assertEnqueuedJob);
  }

  /**
   * Run the enqueued jobs now, inline, and empty the list: lone jobs by priority (stable), the jobs of a
   * graph in dependency order. Each runs with its captured context, as a runner would run it (arguments
   * go through the JSON encoding). Jobs delayed while they run are trapped too and wait for the next
   * call. The first error propagates; the jobs not run yet stay in {@link enqueuedJobs}.
   */
  async performEnqueuedJobs(): Promise<void> {
    await performEnqueued(this.#conveyor, this.#ledger);
  }
}

/**
 * Record delayed calls on `conveyor` instead of storing them. With a callback, the trap is active
 * while it runs and removed after (even when it throws); without one, call `trap.restore()`
 * (or write `using trap = trapJobs(conveyor)`).
 *
 * The trap applies to every delayed call on this Conveyor (not only those of the callback's async
 * context), and takes precedence over no-delay mode.
 * @example
 * await trapJobs(conveyor, async (trap) => {
 *   await partners.browse([1, 2]).withDelay({ priority: 15 }).sendNewsletter('welcome');
 *   trap.assertJobsCount(1, { only: partners.sendNewsletter });
 *   trap.assertEnqueuedJob(partners.sendNewsletter, { records: [1, 2], args: ['welcome'], properties: { priority: 15 } });
 *   await trap.performEnqueuedJobs();
 * });
 */
export function trapJobs(conveyor: Conveyor): JobsTrap;
export function trapJobs<T>(conveyor: Conveyor, fn: (trap: JobsTrap) => T | Promise<T>): Promise<T>;
export function trapJobs<T>(conveyor: Conveyor, fn?: (trap: JobsTrap) => T | Promise<T>): JobsTrap | Promise<T> {
  if (fn !== undefined && typeof fn !== 'function')
    throw new ValidationError(`trapJobs(): the second argument must be a function, got ${describeValue(fn)}`);
  const trap = new JobsTrap(conveyor);
  if (!fn) return trap;
  return (async () => {
    try {
      return await fn(trap);
    } finally {
      trap.restore();
    }
  })();
}
