/**
 * How the jobs of a batch start, given its dependency edges, the same on every backend: a job with a
 * parent waits for it (`wait_dependencies`), the others are `pending`; a job that is some job's parent is
 * marked as having dependants, so that its completion releases them (and a completion without dependants
 * skips that step).
 * @module
 */
import type { JobState } from '../../job/states.ts';

/** The roles of the jobs of one batch in its dependency graph. */
export interface GraphRoles {
  /** The state a job of the batch is inserted in. */
  initialState(index: number): Extract<JobState, 'wait_dependencies' | 'pending'>;
  /** Whether other jobs of the batch depend on this one. */
  hasDependants(index: number): boolean;
}

/** The roles of a batch's jobs. @param edges `[childIndex, parentIndex]` pairs into the batch. */
export function graphRoles(edges: readonly (readonly [number, number])[]): GraphRoles {
  const hasParent = new Set(edges.map((e) => e[0]));
  const isParent = new Set(edges.map((e) => e[1]));
  return {
    initialState: (i) => (hasParent.has(i) ? 'wait_dependencies' : 'pending'),
    hasDependants: (i) => isParent.has(i),
  };
}
