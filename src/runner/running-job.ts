/**
 * A job in one of the runner's slots, from its dispatch to the end of its run.
 * @module
 */
import type { JobRow } from '../job/row.ts';
import type { RunAbort } from './executor.ts';

/** A job running in a slot (plain fields: one per run, on the hot path). */
export interface RunningJob {
  job: JobRow;
  /** Aborts the job (shutdown): its signal fires and the run ends. */
  abort: RunAbort;
  /** Settles when the run has ended and its outcome is queued. */
  done: Promise<void>;
  /** Given back (shutdown, or claimed again with a newer attempt): its end writes nothing. */
  released: boolean;
  /** When it started (runner clock), for its deferred start write. */
  startedAt: number;
  /** Its `job.transaction()`, once called: settles when committed or rolled back (never rejects). */
  tx?: Promise<void>;
  /** Set when that transaction committed: the job is done in the database, nothing more to write. */
  committedAt?: number;
}
