/**
 * Job function settings (queue_job's `queue.job.function`): per-method channel, retries, limits, related action.
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import { checkInt, checkOptions } from '../internal/options.ts';
import { validateRetryPattern, type RetryPattern } from '../retry/pattern.ts';
import { normalizeChannelName } from '../channels/parse.ts';
import type { JobRow } from './row.ts';

/** The related action of a job function: where an operator goes from the job (default: the job's records). */
export interface RelatedAction {
  /** @default true */
  enable?: boolean;
  /** A URL for the job (string template with `{model}`, `{records}`, `{id}`, or a function). */
  url?: string | ((job: JobRow) => string | null);
  /** Extra data for a custom handler. */
  kwargs?: Record<string, unknown>;
}

/** Settings of one job method. */
export interface JobFunctionSettings {
  /** Channel of its jobs. @default 'root' */
  channel?: string;
  /** At most this many runs; 0 = infinite. @default 5 */
  maxRetries?: number;
  /** `{ fromTry: seconds | [min, max] }`. @default 10 minutes for every try */
  retryPattern?: RetryPattern;
  /** Real-time limit of one run (overrides the runner's `limitTimeReal`). */
  timeLimit?: Duration;
  /** When false, a run stopped by its time limit fails instead of being retried. @default true */
  retryOnTimeout?: boolean;
  /** Default priority. @default 10 */
  priority?: number;
  /** Default description (queue_job: the method's docstring). */
  description?: string;
  relatedAction?: RelatedAction;
}

/** Settings after validation. */
export interface ResolvedJobFunction {
  channel: string;
  maxRetries: number;
  retryPattern: RetryPattern | null;
  timeLimitMs: number | null;
  retryOnTimeout: boolean;
  priority: number;
  description: string | null;
  relatedAction: RelatedAction;
}

const KEYS = ['channel', 'maxRetries', 'retryPattern', 'timeLimit', 'retryOnTimeout', 'priority', 'description', 'relatedAction'];

/** Validate the settings of `model.method`. @throws ConfigurationError / ValidationError */
export function resolveJobFunction(model: string, method: string, s: JobFunctionSettings | undefined): ResolvedJobFunction {
  const what = `settings of ${model}.${method}`;
  checkOptions(s, KEYS, what);
  const settings = s ?? {};
  if (settings.relatedAction !== undefined) checkOptions(settings.relatedAction, ['enable', 'url', 'kwargs'], `${what}: relatedAction`);
  if (settings.retryOnTimeout !== undefined && typeof settings.retryOnTimeout !== 'boolean') {
    throw new ConfigurationError(`${what}: retryOnTimeout must be a boolean, got ${describeValue(settings.retryOnTimeout)}`);
  }
  return {
    channel: normalizeChannelName(settings.channel ?? 'root'),
    maxRetries: settings.maxRetries === undefined ? 5 : checkInt(settings.maxRetries, `${what}: maxRetries`, 0),
    retryPattern: settings.retryPattern === undefined ? null : validateRetryPattern(settings.retryPattern, `${what}: retryPattern`),
    timeLimitMs: settings.timeLimit === undefined ? null : parseDuration(settings.timeLimit, `${what}: timeLimit`),
    retryOnTimeout: settings.retryOnTimeout ?? true,
    priority: settings.priority === undefined ? 10 : checkInt(settings.priority, `${what}: priority`, -2147483648, 2147483647),
    description: settings.description ?? null,
    relatedAction: settings.relatedAction ?? { enable: true },
  };
}
