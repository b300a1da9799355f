/**
 * The options of `withDelay()`, `delayable()` and `set()` (queue_job's job properties).
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import { checkInt, checkOptions } from '../internal/options.ts';
import { normalizeChannelName } from '../channels/parse.ts';

/** What an identity-key function sees. */
export interface IdentitySource {
  model: string;
  method: string;
  records: readonly unknown[];
  args: readonly unknown[];
}

/** Options of a delayed call. Unknown keys are an error. */
export interface DelayOptions {
  /** Lower runs first. @default 10 (or the job function's) */
  priority?: number;
  /** Not before: a Date, ms from now, or `'90s' | '5m' | '1h' | '2d'`. */
  eta?: Date | Duration;
  /** At most this many runs; 0 = infinite. @default 5 (or the job function's) */
  maxRetries?: number;
  /** Shown in lists. @default the job function's description, else `model.method` */
  description?: string;
  /** Overrides the job function's channel. */
  channel?: string;
  /** Deduplicate against open jobs with the same key (see `identityExact`). */
  identityKey?: string | ((job: IdentitySource) => string);
  /** PostgreSQL: a pg client inside the caller's transaction; the job exists iff it commits. */
  tx?: unknown;
}

/** Keys of {@link DelayOptions}. */
export const DELAY_OPTION_KEYS = [
  'priority',
  'eta',
  'maxRetries',
  'description',
  'channel',
  'identityKey',
  'tx',
] as const;

/** Validate options (shallow), keeping them as given. @throws ConfigurationError */
export function checkDelayOptions(options: unknown, what: string): DelayOptions {
  checkOptions(options, DELAY_OPTION_KEYS, what);
  const o = (options ?? {}) as DelayOptions;
  if (o.priority !== undefined) checkInt(o.priority, `${what}: priority`, -2147483648, 2147483647);
  if (o.maxRetries !== undefined) checkInt(o.maxRetries, `${what}: maxRetries`, 0);
  if (o.description !== undefined && typeof o.description !== 'string')
    throw new ConfigurationError(`${what}: description must be a string, got ${describeValue(o.description)}`);
  if (o.channel !== undefined) {
    if (typeof o.channel !== 'string')
      throw new ConfigurationError(`${what}: channel must be a string, got ${describeValue(o.channel)}`);
    normalizeChannelName(o.channel);
  }
  if (o.identityKey !== undefined && typeof o.identityKey !== 'string' && typeof o.identityKey !== 'function') {
    throw new ConfigurationError(
      `${what}: identityKey must be a string or a function, got ${describeValue(o.identityKey)}`,
    );
  }
  if (o.eta !== undefined) resolveEta(o.eta, 0, what);
  return o;
}

/** Resolve an ETA to ms since the epoch (null for none). */
export function resolveEta(eta: Date | Duration | null | undefined, now: number, what = 'eta'): number | null {
  if (eta === undefined || eta === null) return null;
  if (eta instanceof Date) {
    if (Number.isNaN(eta.getTime())) throw new ConfigurationError(`${what}: eta is an invalid Date`);
    return eta.getTime();
  }
  if (typeof eta !== 'number' && typeof eta !== 'string') {
    throw new ConfigurationError(
      `${what}: eta must be a Date, ms from now, or a duration like '5m', got ${describeValue(eta)}`,
    );
  }
  return now + parseDuration(eta, `${what}: eta`);
}
