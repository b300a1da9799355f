/**
 * The state a runner's parts share (claim loop, job runs, writes, lease): its slots, its buffer of
 * claimed jobs, its channel tree and the claim flags. Plain fields, read on every job.
 * @module
 */
import type { ChannelTree } from '../channels/tree.ts';
import type { ClaimPolicy } from '../drivers/driver.ts';
import type { JobRow } from '../job/row.ts';
import { claimPolicy } from './claim-policy.ts';
import type { ProcessPool } from './isolation/process-pool.ts';
import { AdaptivePrefetch } from './prefetch.ts';
import { Recovery } from './recovery.ts';
import type { RunnerHost } from './runner-host.ts';
import type { RunningJob } from './running-job.ts';
import { toError } from '../errors.ts';

/** A runner's lifecycle: `new` until started, `stopping` during its graceful stop. */
export type RunnerPhase = 'new' | 'running' | 'stopping' | 'stopped';

/** How the runner's parts ask for a claim (the claim loop; see claim-loop.ts). */
export interface ClaimTrigger {
  /** Claim now (or once the claim that is out returns). */
  kick(): void;
  /** A run ended and its slot took the next buffered job, if any. */
  slotFreed(): void;
  /** A batch of writes landed; `freed`: it ended or released a run, so its channel capacity is free. */
  batchWritten(freed: boolean): void;
}

/** Asks for nothing: the trigger until the claim loop is made. */
const NO_CLAIMS: ClaimTrigger = {
  kick() {},
  slotFreed() {},
  batchWritten() {},
};

/** What a runner's parts share (see the module comment). */
export class RunnerContext {
  /** The runner's Conveyor. */
  readonly host: RunnerHost;
  /** The runner's id (on the jobs it holds). */
  readonly id: string;
  /** Job slots. */
  readonly workers: number;
  /** `prefetch` when given; else null and {@link adaptive} sizes the buffer. */
  readonly fixedPrefetch: number | null;
  readonly adaptive: AdaptivePrefetch;
  /** Wakes the claim and write loops waiting on their backoffs when any database call succeeds again. */
  readonly recovery = new Recovery();
  phase: RunnerPhase = 'new';
  /** The process pool of `isolation: 'process'` (null inline, and until started). */
  pool: ProcessPool | null = null;
  /** Jobs claimed and waiting for a slot (`enqueued` jobs leased to this runner). */
  buffer: JobRow[] = [];
  /** Ids of the jobs in {@link buffer}, kept with it, so a claim checks for re-claims in O(1) per job. */
  bufferedIds = new Set<number>();
  /** The jobs in the slots, by id. */
  readonly running = new Map<number, RunningJob>();
  /** The channel tree this runner claims with, runtime pauses applied (see paused-channels.ts). */
  tree: ChannelTree;
  /** The claim policy of {@link tree}. */
  policy: ClaimPolicy;
  /** The root channel's capacity: no runner can hold more jobs than that, whatever its slots and prefetch. */
  readonly rootCapacity: number;
  /** The last claim was held back by channel capacity: freed capacity is worth a claim. */
  capacityBlocked = false;
  /** The last claim left no due job behind (its `drained`): only a wake-up, an ETA or a retry claims again. */
  drained = false;
  /** Counts the wake-ups that may have made a job due; a claim's `drained` is trusted only if none came during it. */
  wakeSeq = 0;
  /** A slot was found idle with the buffer empty while the current claim was out. */
  idleDuringClaim = false;
  /** The claim loop (it sets itself here when made). */
  claims: ClaimTrigger = NO_CLAIMS;

  constructor(host: RunnerHost, id: string, workers: number, fixedPrefetch: number | null, tree: ChannelTree) {
    this.host = host;
    this.id = id;
    this.workers = workers;
    this.fixedPrefetch = fixedPrefetch;
    this.adaptive = new AdaptivePrefetch({ workers });
    this.tree = tree;
    this.policy = claimPolicy(tree);
    this.rootCapacity = tree.node('root')?.capacity ?? Infinity;
  }

  /** Jobs claimed ahead of the free slots now (the fixed `prefetch`, or the adaptive size). */
  get prefetch(): number {
    return this.fixedPrefetch ?? this.adaptive.target;
  }

  /** Claim with `tree` from now on (its pauses changed). */
  useTree(tree: ChannelTree): void {
    this.tree = tree;
    this.policy = claimPolicy(tree);
  }

  /** The buffer is at or below its low-water mark (half the prefetch): worth a claim. */
  bufferLow(): boolean {
    return this.buffer.length <= this.prefetch / 2;
  }

  /** A job may have become due: the last claim's `drained` no longer holds. */
  mayBeDue(): void {
    this.drained = false;
    this.wakeSeq++;
  }

  /** The host's clock. */
  now(): number {
    return this.host.clock.now();
  }

  /** Report a failed operation (a `runner_error` event and an error log line). */
  error(operation: string, err: unknown): void {
    const error = toError(err);
    this.host.events.emit('runner_error', { runnerId: this.id, error, operation });
    this.host.logger.error({ runnerId: this.id, operation, err: error }, 'runner error');
  }
}
