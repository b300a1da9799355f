/**
 * Types of `Driver.jobClaim`: the scheduler as the claim sees it, the claim's parameters and result.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */
import type { Candidate, ChannelSnapshot, ClaimGuess, FetchPlan, PickResult } from '../../channels/scheduler.ts';
import type { JobRow } from '../../job/row.ts';

/** The scheduler as the claim transaction sees it (pure functions; see `channels/scheduler.ts`). */
export interface ClaimPolicy {
  sequentialChannels: readonly string[];
  throttledChannels: readonly string[];
  planFetch(snap: ChannelSnapshot, wanted: number): FetchPlan[];
  pickJobs(snap: ChannelSnapshot, candidates: readonly Candidate[], wanted: number): PickResult;
  /**
   * The claim to try before reading the snapshot (see {@link ClaimGuess}), or null. A driver may check it
   * and take its jobs in the same statement; it must fall back to planFetch/pickJobs when it does not hold.
   */
  guess?(wanted: number): ClaimGuess | null;
  /** The driver tells the policy the state its claim read (before its update) and the jobs it took. */
  observe?(snap: ChannelSnapshot, taken: readonly { channel: string }[]): void;
}

/** Parameters of `Driver.jobClaim`. */
export interface JobClaimParams {
  runnerId: string;
  now: number;
  /** Most jobs to take. */
  wanted: number;
  /**
   * How many of the picked jobs (in dispatch order) start at once: they are stored `started` by the claim
   * itself, so a runner that dies right away is counted as a crash; the rest stay `enqueued` (buffered).
   */
  startCount?: number;
  policy: ClaimPolicy;
}

/** Result of a claim: the jobs now `enqueued` for this runner (attempt already incremented). */
export interface JobClaimResult {
  jobs: JobRow[];
  capacityBlocked: boolean;
  /** Earliest moment something may become runnable (ETA, throttle), if known. */
  wakeAt: number | null;
  /**
   * True when the claim knows that no due job was left behind, in any channel (it saw them all and took
   * them all); then the runner claims again only on a wake-up. Omitted when the driver cannot tell.
   */
  drained?: boolean;
}
