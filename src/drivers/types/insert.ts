/**
 * Types of `Driver.jobInsertMany`: the jobs to insert and what became of each.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */
import type { JobState } from '../../job/states.ts';

/** A job to insert. JSON fields are already encoded text. */
export interface NewJob {
  uuid: string;
  graphUuid: string | null;
  model: string;
  method: string;
  /** JSON text of the record ids. */
  records: string;
  /** JSON text of the arguments. */
  args: string;
  priority: number;
  eta: number | null;
  channel: string;
  maxRetries: number;
  description: string;
  identityKey: string | null;
  /** JSON text of the captured context, or null. */
  context: string | null;
  timeLimitMs: number | null;
}

/** Parameters of `Driver.jobInsertMany`. */
export interface JobInsertParams {
  jobs: readonly NewJob[];
  /** Dependency edges as `[childIndex, parentIndex]` into `jobs`. With edges, identity dedup is all-or-nothing (queue_job). */
  edges?: readonly (readonly [number, number])[];
  now: number;
  /** A caller's transaction (PostgreSQL: a pg client inside BEGIN). The job exists iff it commits. */
  tx?: unknown;
}

/** What became of each inserted job, aligned with the input. */
export interface JobInsertResult {
  id: number;
  uuid: string;
  state: JobState;
  /** True when an open job with the same identity key was returned instead. */
  existing: boolean;
}
