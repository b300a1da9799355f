/**
 * The admin state-change rules both drivers follow: which jobs a cascading cancel reaches, pruning in
 * batches, and the result text an admin change stores.
 * @module
 */
import type { JobAdminParams } from '../types/job-admin.ts';
import { type StepSequence, step } from './steps.ts';

/** The steps of {@link cancelSequence}. */
export type CancelSteps = {
  /** Cancel these jobs where they are still cancellable; answers the ids it changed. */
  cancel: { input: readonly number[]; output: number[] };
  /** The jobs that depend directly on these (distinct ids). */
  children: { input: readonly number[]; output: number[] };
};

/**
 * Cancel `ids`; with `cascade`, then the jobs that depend on the ones just cancelled, level by level,
 * until a level cancels nothing (a dependant already final stops the walk below it). Returns every id
 * cancelled, in the order cancelled.
 */
export function* cancelSequence(ids: readonly number[], cascade: boolean): StepSequence<CancelSteps, number[]> {
  const all = [...(yield* step<CancelSteps, 'cancel'>('cancel', ids))];
  if (cascade) {
    let frontier = all;
    while (frontier.length) {
      const children = yield* step<CancelSteps, 'children'>('children', frontier);
      frontier = children.length ? yield* step<CancelSteps, 'cancel'>('cancel', children) : [];
      all.push(...frontier);
    }
  }
  return all;
}

/** Jobs deleted per prune transaction when the caller does not say: short transactions, few round trips. */
export const DEFAULT_PRUNE_BATCH = 1000;

/** The steps of {@link pruneSequence}. */
export type PruneSteps = {
  /** Delete up to `input` prunable jobs in one transaction; answers how many it deleted. */
  batch: { input: number; output: number };
};

/** Prune in batches until a batch comes back short; returns the total deleted. */
export function* pruneSequence(batchSize = DEFAULT_PRUNE_BATCH): StepSequence<PruneSteps, number> {
  let total = 0;
  for (;;) {
    const n = yield* step<PruneSteps, 'batch'>('batch', batchSize);
    total += n;
    if (n < batchSize) return total;
  }
}

/** The stored result of a requeue: the caller's message as JSON text, or null (no message clears it). */
export function requeueResult(p: JobAdminParams): string | null {
  return p.message === undefined ? null : JSON.stringify(p.message);
}

/** The stored result of a job set done by hand (JSON text). */
export function setDoneResult(p: JobAdminParams): string {
  return JSON.stringify(p.message ?? 'Manually set to done');
}

/** The stored result of a cancelled job (JSON text). */
export function cancelResult(p: JobAdminParams): string {
  return JSON.stringify(p.message ?? 'Cancelled');
}
