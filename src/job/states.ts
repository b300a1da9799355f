/**
 * Job states (queue_job's vocabulary) and the sets the rest of the code reasons with.
 * @module
 */

/** Every state a job can be in. */
export const JOB_STATES = [
  'wait_dependencies',
  'pending',
  'enqueued',
  'started',
  'done',
  'failed',
  'cancelled',
] as const;

/** A job state. */
export type JobState = (typeof JOB_STATES)[number];

/** States in which a job occupies channel capacity. */
export const RUNNING_STATES: readonly JobState[] = ['enqueued', 'started'];

/** States of a job that waits to be claimed: for its dependencies, or for its ETA and a free slot. */
export const WAITING_STATES: readonly JobState[] = ['wait_dependencies', 'pending'];

/** States in which an identity key blocks a duplicate (queue_job: started jobs do not). */
export const IDENTITY_STATES: readonly JobState[] = ['wait_dependencies', 'pending', 'enqueued'];

/** States that end a job's life until someone requeues it. */
export const FINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** True when `value` is a job state. */
export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && (JOB_STATES as readonly string[]).includes(value);
}
