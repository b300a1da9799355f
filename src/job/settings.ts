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

const KEYS = [
  'channel',
  'maxRetries',
  'retryPattern',
  'timeLimit',
  'retryOnTimeout',
  'priority',
  'description',
  'relatedAction',
];

/** Validate the settings of `model.method`. @throws ConfigurationError / ValidationError */
export function resolveJobFunction(
  model: string,
  method: string,
  s: JobFunctionSettings | undefined,
): ResolvedJobFunction {
  const what = `settings of ${model}.${method}`;
  checkOptions(s, KEYS, what);
  const settings = s ?? {};
  if (settings.relatedAction !== undefined)
    checkOptions(settings.relatedAction, ['enable', 'url', 'kwargs'], `${what}: relatedAction`);
  if (settings.retryOnTimeout !== undefined && typeof settings.retryOnTimeout !== 'boolean') {
    throw new ConfigurationError(
      `${what}: retryOnTimeout must be a boolean, got ${describeValue(settings.retryOnTimeout)}`,
    );
  }
  return {
    channel: normalizeChannelName(settings.channel ?? 'root'),
    maxRetries: settings.maxRetries === undefined ? 5 : checkInt(settings.maxRetries, `${what}: maxRetries`, 0),
    retryPattern:
      settings.retryPattern === undefined ? null : validateRetryPattern(settings.retryPattern, `${what}: retryPattern`),
    timeLimitMs: settings.timeLimit === undefined ? null : parseDuration(settings.timeLimit, `${what}: timeLimit`),
    retryOnTimeout: settings.retryOnTimeout ?? true,
    priority:
      settings.priority === undefined ? 10 : checkInt(settings.priority, `${what}: priority`, -2147483648, 2147483647),
    description: settings.description ?? null,
    relatedAction: settings.relatedAction ?? { enable: true },
  };
}

/**
 * An operator's override of a job function's settings, stored in the database: the code settings
 * except the description, and a related action without functions (it is JSON).
 */
export type JobFunctionOverride = Omit<JobFunctionSettings, 'description' | 'relatedAction'> & {
  relatedAction?: { enable?: boolean; url?: string };
};

const OVERRIDE_KEYS = [
  'channel',
  'maxRetries',
  'retryPattern',
  'timeLimit',
  'retryOnTimeout',
  'priority',
  'relatedAction',
];

/**
 * Validate an override (the same rules as code settings). @throws ConfigurationError / ValidationError naming the key
 */
export function validateOverride(name: string, value: unknown): JobFunctionOverride {
  const what = `job function ${name} override`;
  checkOptions(value, OVERRIDE_KEYS, what);
  const o = (value ?? {}) as JobFunctionOverride;
  if (o.relatedAction !== undefined) {
    checkOptions(o.relatedAction, ['enable', 'url'], `${what}: relatedAction`);
    if (o.relatedAction.url !== undefined && typeof o.relatedAction.url !== 'string')
      throw new ConfigurationError(`${what}: relatedAction.url must be a URL template string`);
  }
  const [model, method] = [name.slice(0, name.lastIndexOf('.')), name.slice(name.lastIndexOf('.') + 1)];
  resolveJobFunction(model, method, o as JobFunctionSettings);
  return o;
}

/** Code settings with an override applied on top. */
export function applyOverride(
  model: string,
  method: string,
  code: ResolvedJobFunction,
  o: JobFunctionOverride | undefined,
): ResolvedJobFunction {
  if (!o || !Object.keys(o).length) return code;
  const r = resolveJobFunction(model, method, o as JobFunctionSettings);
  return {
    channel: o.channel !== undefined ? r.channel : code.channel,
    maxRetries: o.maxRetries !== undefined ? r.maxRetries : code.maxRetries,
    retryPattern: o.retryPattern !== undefined ? r.retryPattern : code.retryPattern,
    timeLimitMs: o.timeLimit !== undefined ? r.timeLimitMs : code.timeLimitMs,
    retryOnTimeout: o.retryOnTimeout !== undefined ? r.retryOnTimeout : code.retryOnTimeout,
    priority: o.priority !== undefined ? r.priority : code.priority,
    description: code.description,
    relatedAction: o.relatedAction !== undefined ? { ...code.relatedAction, ...o.relatedAction } : code.relatedAction,
  };
}
