/**
 * SQL fragments both drivers write the same way, derived from the pure rules they must agree with.
 * @module
 */
import { FINAL_STATES, IDENTITY_STATES, RUNNING_STATES, WAITING_STATES, type JobState } from '../../job/states.ts';

/** `('a','b')`: a list of job states as an SQL `IN` list (states are fixed identifiers, never user input). */
export function stateList(states: readonly JobState[]): string {
  return `(${states.map((s) => `'${s}'`).join(',')})`;
}

/** `('enqueued','started')`: the states that hold channel capacity ({@link RUNNING_STATES}). */
export const RUNNING_STATES_SQL = stateList(RUNNING_STATES);

/** `('wait_dependencies','pending','enqueued')`: the states in which an identity key blocks a duplicate. */
export const IDENTITY_STATES_SQL = stateList(IDENTITY_STATES);

/** `('done','failed','cancelled')`: the final states. */
export const FINAL_STATES_SQL = stateList(FINAL_STATES);

/** The states a job can be set done from by hand (not `started`: a running job ends by its own outcome). */
export const SET_DONE_FROM_SQL = stateList([...WAITING_STATES, 'enqueued', 'failed']);

/** The states a job can be cancelled from (every state but `done` and `cancelled`). */
export const CANCEL_FROM_SQL = stateList([...WAITING_STATES, ...RUNNING_STATES, 'failed']);

/**
 * The dispatch order as SQL columns: the same order as `compareCandidates` in channels/scheduler.ts
 * (`priority`, then `created_at`, then `id`, ascending). Use as `ORDER BY ${CLAIM_ORDER_SQL}`.
 */
export const CLAIM_ORDER_SQL = 'priority, created_at, id';
