/**
 * The identity-key rule for the jobs of one enqueue, as the trap applies it to the jobs it records.
 * @module
 */
import { identityKeysToCheck, planIdentityKeys } from '../drivers/shared/identity-keys.ts';

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
 * Decide, for each job of one enqueue, whether it is added or which job it duplicates, by the drivers' own rule
 * ({@link planIdentityKeys}, `drivers/shared/identity-keys.ts`), so that a trapped enqueue dedups exactly as a stored
 * one would: lone jobs one by one, against the open jobs (`openTwin`) and the earlier jobs of the same enqueue; a
 * graph (`isGraph`: the enqueue has edges) all or nothing. An empty key deduplicates nothing.
 * @param keys each job's identity key, or null
 * @param openTwin the open job (a state in `IDENTITY_STATES`) that has `key`, or null
 */
export function planIdentity<T>(
  keys: readonly (string | null)[],
  isGraph: boolean,
  openTwin: (key: string) => T | null,
): IdentityDecision<T>[] {
  const jobs = keys.map((identityKey) => ({ identityKey }));
  const stored = new Map<string, T>();
  for (const key of identityKeysToCheck(jobs)) {
    const twin = openTwin(key);
    if (twin !== null) stored.set(key, twin);
  }
  const plan = planIdentityKeys(jobs, isGraph, stored);
  if (plan.kind === 'skip')
    return plan.twins.map((twin): IdentityDecision<T> => (twin === null ? { kind: 'none' } : { kind: 'twin', twin }));
  return keys.map((_, i): IdentityDecision<T> => {
    const twin = plan.twins[i];
    if (twin != null) return { kind: 'twin', twin };
    const of = plan.repeatOf[i]!;
    return of >= 0 ? { kind: 'repeat', of } : { kind: 'add' };
  });
}
