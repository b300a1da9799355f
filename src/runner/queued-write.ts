/**
 * One write of the runner's write queue: a finish command and what its events need.
 * @module
 */
import type { JobWrite } from '../drivers/driver.ts';
import type { JobRow } from '../job/row.ts';
import type { Outcome } from './outcome.ts';

/** A command waiting for (or in) a batched `jobWriteMany` call, with the job it is for. */
export interface QueuedWrite {
  cmd: JobWrite;
  job: JobRow;
  /** How the run ended (absent for start and release writes). */
  outcome?: Outcome;
  /** The run passed its time limit (for the `job_timed_out` remote event). */
  timeout?: { limitMs: number; kind: string };
}
