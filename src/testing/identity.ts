/**
 * The identity-key rule for the jobs of one enqueue, as the trap applies it to the jobs it records.
 * @module
 */

/** What becomes of one job of an enqueue under the identity-key rule. */
export type IdentityDecision<T> =
  /** Added as a new job. */
  | { readonly kind: 'add' }
  /** Not added: an open job with the same key exists already; the call stands for it. */
  | { readonly kind: 'twin'; readonly twin: T }
  /** Not added: an earlier job of the same enqueue (lone jobs only) has the same key; the call stands for it. */
  | { readonly kind: 'repeat'; readonly of: number }
  /** Not added, and stands for no job: a job without a key in a skipped graph. */
  | { readonly kind: 'none' };

/**
 * Decide, for each job of one enqueue, whether it is added or which job it duplicates. Lone jobs are
 * deduplicated one by one, against the open jobs (`openTwin`) and against the earlier jobs of the same
 * enqueue. A graph (`isGraph`: the enqueue has edges) is all or nothing: it is skipped only when it has a
 * keyed job and every keyed job has an open twin; otherwise every job of it is added, keys repeated
 * inside the graph included.
 *
 * This mirrors the rule the drivers apply when they insert jobs (SQLite's and PostgreSQL's `#insert`),
 * so that a trapped enqueue dedups exactly as a stored one would.
 * @param keys each job's identity key, or null
 * @param openTwin the open job (a state in `IDENTITY_STATES`) that has `key`, or null
 */
export function planIdentity<T>(
  keys: readonly (string | null)[],
  isGraph: boolean,
  openTwin: (key: string) => T | null,
): IdentityDecision<T>[] {
  const twins = keys.map((key) => (key === null ? null : openTwin(key)));
  if (isGraph) {
    const skipped = keys.some((key) => key !== null) && keys.every((key, i) => key === null || twins[i] !== null);
    return keys.map((_, i): IdentityDecision<T> => {
      const twin = twins[i] ?? null;
      if (!skipped) return { kind: 'add' };
      return twin === null ? { kind: 'none' } : { kind: 'twin', twin };
    });
  }
  const firstOfKey = new Map<string, number>();
  return keys.map((key, i): IdentityDecision<T> => {
    const twin = twins[i] ?? null;
    if (key === null) return { kind: 'add' };
    if (twin !== null) return { kind: 'twin', twin };
    const first = firstOfKey.get(key);
    if (first !== undefined) return { kind: 'repeat', of: first };
    firstOfKey.set(key, i);
    return { kind: 'add' };
  });
}
