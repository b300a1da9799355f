/**
 * What a trap holds: every delayed call, the jobs not performed yet, and the changes a trapped job's
 * handle makes to them (requeue, set done, cancel), as the drivers make them to stored jobs.
 * @module
 */
import { IDENTITY_STATES, WAITING_STATES } from '../job/states.ts';
import type { TrappedCall, TrappedJob, TrappedJobActions } from './trapped-job.ts';

/** The calls and jobs of one trap. */
export class TrapLedger implements TrappedJobActions {
  /** Every delayed call, in order, including identity-key duplicates. */
  readonly calls: TrappedCall[] = [];
  /**
   * The jobs that would be stored and have not been performed yet. Replaced (not mutated) when jobs
   * leave it, so always read it through the ledger.
   */
  enqueued: TrappedJob[] = [];
  readonly #now: () => number;

  /** `now` reads the Conveyor's clock. */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** The first enqueued job whose identity key `key` blocks a duplicate, or null. */
  openTwin(key: string): TrappedJob | null {
    return this.enqueued.find((j) => j.properties.identityKey === key && IDENTITY_STATES.includes(j.state)) ?? null;
  }

  /** Put a failed or cancelled job back at the end of the enqueued list, as never run. */
  requeue(job: TrappedJob): boolean {
    if (job.state !== 'failed' && job.state !== 'cancelled') return false;
    job._end('pending', this.#now());
    this.enqueued.push(job);
    return true;
  }

  /** Mark a waiting or failed job done, without running it. */
  setDone(job: TrappedJob): boolean {
    if (!WAITING_STATES.includes(job.state) && job.state !== 'failed') return false;
    this.enqueued = this.enqueued.filter((j) => j !== job);
    job._end('done', this.#now(), 'Manually set to done');
    return true;
  }

  /** Cancel a job that is not done or cancelled, with (when `cascade`) its dependants not done or cancelled. */
  cancel(job: TrappedJob, cascade: boolean): boolean {
    if (job.state === 'done' || job.state === 'cancelled') return false;
    const gone = new Set<TrappedJob>([job]);
    if (cascade) {
      const queue = [...job.dependants];
      while (queue.length) {
        const d = queue.pop()!;
        if (gone.has(d) || d.state === 'done' || d.state === 'cancelled') continue;
        gone.add(d);
        queue.push(...d.dependants);
      }
    }
    this.enqueued = this.enqueued.filter((j) => !gone.has(j));
    for (const j of gone) j._end('cancelled', this.#now(), 'Cancelled');
    return true;
  }
}
