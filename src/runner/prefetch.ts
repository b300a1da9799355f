/**
 * How many jobs a runner claims ahead of its free slots (its local buffer), when `prefetch` is not set.
 * Pure: it only sees the observations the runner feeds it, so it is property-tested on its own.
 *
 * The rule: the buffer should hold about one claim round trip's worth of work, so that slots never wait
 * for the next claim, and no more than a few milliseconds of work, so that a job enqueued later with a
 * higher priority waits behind little, and several runners share a queue instead of one hoarding it.
 *
 * - `rate` = workers / average run time: jobs per millisecond this runner finishes when its slots are busy;
 * - `want` = rate × average claim latency × gain: what the slots consume while a claim is out, and at
 *   least one job per slot: a claim has a fixed cost (on SQLite it runs on the event loop itself), so
 *   claims of fewer jobs than slots cost more than they save;
 * - `cap`  = rate × maxBufferedWorkMs: what they consume in `maxBufferedWorkMs` (default 50 ms);
 * - target = min(want, cap, max), at least 0.
 *
 * The gain starts at 2 (headroom for variance) and adapts: it grows when slots were found idle while a
 * claim was out (the buffer ran dry), and decays back when a claim returns with the buffer still holding
 * jobs. Averages are exponentially weighted (EWMA), so the target follows a workload that changes. Before
 * anything is observed, the target is one job per slot.
 * @module
 */

/** Settings of the adaptive prefetch. */
export interface AdaptivePrefetchOptions {
  /** The runner's slots. */
  workers: number;
  /** Upper bound of the work held in the buffer, in milliseconds of this runner's time. @default 50 */
  maxBufferedWorkMs?: number;
  /** Hard upper bound of the target (the claim batch the benchmark found best). @default 500 */
  max?: number;
}

const ALPHA = 0.2;
const GAIN_MIN = 1;
const GAIN_MAX = 8;
const GAIN_START = 2;
/** Run times below this count as this (timer resolution; avoids an infinite rate). */
const MIN_RUN_MS = 0.005;

function ewma(prev: number | null, value: number): number {
  return prev === null ? value : prev + ALPHA * (value - prev);
}

/** The adaptive buffer size of one runner (see the module comment for the rule). */
export class AdaptivePrefetch {
  readonly workers: number;
  readonly maxBufferedWorkMs: number;
  readonly max: number;
  #runMs: number | null = null;
  #claimMs: number | null = null;
  #gain = GAIN_START;

  constructor(options: AdaptivePrefetchOptions) {
    this.workers = options.workers;
    this.maxBufferedWorkMs = options.maxBufferedWorkMs ?? 50;
    this.max = options.max ?? 500;
  }

  /** A job ran for `ms` (wall clock, from its start to its end). */
  observeRun(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.#runMs = ewma(this.#runMs, Math.max(MIN_RUN_MS, ms));
  }

  /** A claim took `ms` (its round trip). `bufferLeft`: jobs still in the buffer when it returned. */
  observeClaim(ms: number, bufferLeft: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.#claimMs = ewma(this.#claimMs, ms);
    if (bufferLeft > 0) this.#gain = Math.max(GAIN_MIN, this.#gain * 0.95);
  }

  /** A slot was free with the buffer empty while a claim was out: the buffer is too small. */
  observeStarved(): void {
    this.#gain = Math.min(GAIN_MAX, this.#gain * 1.5);
  }

  /** Average run time (ms, EWMA), or null before the first run. */
  get runMs(): number | null {
    return this.#runMs;
  }

  /** Average claim round trip (ms, EWMA), or null before the first claim. */
  get claimMs(): number | null {
    return this.#claimMs;
  }

  /** The current gain (for tests and diagnostics). */
  get gain(): number {
    return this.#gain;
  }

  /** Jobs to hold beyond the free slots. */
  get target(): number {
    if (this.#runMs === null || this.#claimMs === null) return Math.min(this.workers, this.max);
    const rate = this.workers / this.#runMs;
    const want = Math.max(this.workers, Math.ceil(rate * this.#claimMs * this.#gain));
    const cap = Math.floor(rate * this.maxBufferedWorkMs);
    return Math.max(0, Math.min(want, cap, this.max));
  }
}
