/**
 * The identity-key rule of an insert, the same on every backend (queue_job's): a job whose identity key
 * matches a stored job in one of the {@link IDENTITY_STATES} is not inserted, its twin is returned instead.
 * Lone jobs are deduplicated one by one, and a key repeated inside the batch is inserted once. A graph is
 * all or nothing: it is skipped only when every job of it that has a key has a stored twin; otherwise every
 * job of it is inserted (its keys included), so the graph stays whole.
 *
 * An empty key deduplicates nothing (it is stored, but counts as no key).
 *
 * The driver looks the keys up ({@link identityKeysToCheck}), and {@link planIdentityKeys} decides.
 * @module
 */
import type { JobInsertResult } from '../driver.ts';

/** A job of the batch as the rule sees it. */
export interface KeyedJob {
  readonly identityKey: string | null;
}

/**
 * What to do with a batch, given the stored twins of its keys. `T` is what a twin is: a stored row's
 * {@link JobInsertResult} in the drivers, a recorded job in the test kit's trap (`testing/record-calls.ts`).
 */
export type IdentityPlan<T = JobInsertResult> =
  | {
      /** Every keyed job of the graph has a stored twin: insert nothing. */
      readonly kind: 'skip';
      /** Per job: its stored twin, or null for a job without a key (it stands for no job). */
      readonly twins: readonly (T | null)[];
    }
  | {
      readonly kind: 'insert';
      /** Per job: its stored twin (returned instead of inserting it), else null. */
      readonly twins: readonly (T | null)[];
      /** Per job: the index of the earlier job of the batch whose key it repeats (lone jobs only), else -1. */
      readonly repeatOf: readonly number[];
      /** The jobs to insert, in batch order. */
      readonly toInsert: readonly number[];
    };

/**
 * The distinct (non-empty) identity keys of the batch, sorted: the keys to look up. Sorted so that two batches lock
 * the keys they share in the same order (PostgreSQL takes a lock per key) and never wait on each other.
 */
export function identityKeysToCheck(jobs: readonly KeyedJob[]): string[] {
  const keys = new Set<string>();
  for (const j of jobs) if (j.identityKey) keys.add(j.identityKey);
  return [...keys].sort();
}

/** What a skipped graph returns for its jobs without a key: they have no stored counterpart. */
const NOT_INSERTED: JobInsertResult = { id: 0, uuid: '', state: 'cancelled', existing: true };

/** The results of a skipped graph: each job's stored twin, and a "not inserted" result for a job without a key. */
export function skippedResults(plan: Extract<IdentityPlan, { kind: 'skip' }>): JobInsertResult[] {
  return plan.twins.map((t) => ({ ...(t ?? NOT_INSERTED) }));
}

/**
 * Decide which jobs of the batch to insert.
 * @param jobs The batch.
 * @param isGraph Whether the batch has dependency edges (then it is all or nothing).
 * @param stored Identity key → the oldest stored job with that key in an identity state (`existing: true`); only
 *   the keys that have one.
 */
export function planIdentityKeys<T = JobInsertResult>(
  jobs: readonly KeyedJob[],
  isGraph: boolean,
  stored: ReadonlyMap<string, T>,
): IdentityPlan<T> {
  const twins = jobs.map((j) => (j.identityKey ? (stored.get(j.identityKey) ?? null) : null));
  if (isGraph) {
    const keyed = jobs.filter((j) => j.identityKey).length;
    if (keyed > 0 && jobs.every((j, i) => !j.identityKey || twins[i])) return { kind: 'skip', twins };
    twins.fill(null);
  }
  const repeatOf: number[] = [];
  const toInsert: number[] = [];
  const firstOfKey = new Map<string, number>();
  jobs.forEach((j, i) => {
    repeatOf.push(-1);
    if (twins[i]) return;
    if (j.identityKey && !isGraph) {
      const first = firstOfKey.get(j.identityKey);
      if (first !== undefined) {
        repeatOf[i] = first;
        return;
      }
      firstOfKey.set(j.identityKey, i);
    }
    toInsert.push(i);
  });
  return { kind: 'insert', twins, repeatOf, toInsert };
}

/**
 * The result of every job of an inserted batch: its twin, its own row (`inserted(i)`, for the jobs of
 * `plan.toInsert`), or the row of the earlier job whose key it repeats, marked `existing`.
 */
export function identityResults(
  plan: Extract<IdentityPlan, { kind: 'insert' }>,
  inserted: (index: number) => JobInsertResult,
): JobInsertResult[] {
  const results: JobInsertResult[] = [];
  for (let i = 0; i < plan.twins.length; i++) {
    const twin = plan.twins[i];
    if (twin) results.push({ ...twin });
    else if (plan.repeatOf[i]! >= 0) results.push({ ...results[plan.repeatOf[i]!]!, existing: true });
    else results.push(inserted(i));
  }
  return results;
}
