/**
 * The properties of a trapped job that assertions compare, and how an expected value matches one.
 * @module
 */
import { parseDuration, type Duration } from '../internal/duration.ts';
import { isDeepStrictEqual } from 'node:util';

/** The properties of a trapped job, resolved as the real enqueue would (job function defaults applied). */
export interface JobProperties {
  /** Lower runs first. */
  priority: number;
  /** Not before (ms since the epoch), or null. */
  eta: number | null;
  /** At most this many runs; 0 = infinite. */
  maxRetries: number;
  /** Shown in lists: the call's, else the job function's, else `model.method`. */
  description: string;
  /** Full channel name, e.g. `root.mail`. */
  channel: string;
  /** The key that deduplicates the job against the open jobs, or null. */
  identityKey: string | null;
}

/** Property keys that `assertEnqueuedJob(…, { properties })` compares. */
export const PROPERTY_KEYS = ['priority', 'eta', 'maxRetries', 'description', 'channel', 'identityKey'] as const;

/**
 * Expected properties: only the keys given are compared. `eta` as a Date is absolute; as ms or a
 * duration string (`'1h'`) it counts from the moment of the call, like `withDelay({ eta })`.
 */
export interface ExpectedProperties {
  priority?: number;
  eta?: Date | Duration | null;
  maxRetries?: number;
  description?: string;
  channel?: string;
  identityKey?: string | null;
}

/**
 * Whether the property `key` of a call made at `at` matches `expected`: a relative `eta` counts from
 * `at`, every other value is compared deeply.
 */
export function propertyMatches(
  key: string,
  expected: unknown,
  call: { readonly properties: Readonly<JobProperties>; readonly at: number },
): boolean {
  const actual = (call.properties as unknown as Record<string, unknown>)[key];
  if (key === 'eta' && expected !== null && expected !== undefined) {
    if (actual === null) return false;
    if (expected instanceof Date) return expected.getTime() === actual;
    return call.at + parseDuration(expected as Duration, 'assertEnqueuedJob(): properties.eta') === actual;
  }
  return isDeepStrictEqual(actual, expected);
}

/**
 * The properties to show in a message: the `keys` an assertion compares, or, with `keys` null, every
 * property that is set.
 */
export function pickProperties(
  props: Readonly<JobProperties>,
  keys: readonly string[] | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys ?? PROPERTY_KEYS) {
    const v = (props as unknown as Record<string, unknown>)[k];
    if (keys || (v !== null && v !== undefined)) out[k] = v;
  }
  return out;
}
