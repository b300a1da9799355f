/**
 * What every backend decides alike when a runner reports on a job it holds (start, done, retry, failed,
 * release), and when a completion releases the jobs waiting on it. The SQL of each backend writes these
 * states from here, so the two cannot drift.
 * @module
 */
import type { JobState } from '../../job/states.ts';
import type { JobWrite } from '../driver.ts';

/** The state a job is in after each fenced command of its runner. */
export const STATE_AFTER = {
  /** The buffered job starts running. */
  start: 'started',
  done: 'done',
  /** Back in the queue, with an ETA. */
  retry: 'pending',
  /** Out of retries: stays failed until requeued (and blocks its sequential channel). */
  failed: 'failed',
  /** Given back untried (shutdown, a buffered job the runner will not run). */
  release: 'pending',
} as const satisfies Record<JobWrite['kind'], JobState>;

/**
 * Whether a command frees channel capacity, so runners waiting for room should claim again: every
 * command but `start` (a started job still holds its slot, as an enqueued one did).
 */
export function freesCapacity(kind: JobWrite['kind']): boolean {
  return kind !== 'start';
}

/**
 * Whether a completed job may have dependants to release. Unknown (the caller did not say) means maybe;
 * only a claimed row's `false` lets a backend skip the dependants step.
 */
export function mayHaveDependants(job: { readonly hasDependants?: boolean }): boolean {
  return job.hasDependants !== false;
}

/**
 * Which dependants a completion releases: those in `from` whose parents are all `parentsIn`; they move
 * to `to`, and the runners are woken as for new jobs.
 */
export const DEPENDANTS_RELEASE = {
  from: 'wait_dependencies',
  parentsIn: 'done',
  to: 'pending',
} as const satisfies Record<string, JobState>;
