/**
 * `retryOnTimeout` (Odoo's `@retry_on_timeout(max_attempts=3, delay=2, backoff=2)`): call a function
 * again when it times out, waiting `delay * backoff^(n-1)` between tries.
 * @module
 */
import { ConfigurationError, TimeoutError, describeValue } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import type { Duration } from '../internal/duration.ts';
import { assertMethod, ownerName } from './with-timeout.ts';
import type { AsyncMethodDecorator } from './with-timeout.ts';
import { errorFields, followSignals, formatMs, loggerOf, operationName, parentSignals, safeLog } from './shared.ts';
import type { ToolkitOptions } from './shared.ts';

/** The longest delay a timer can wait (2^31-1 ms, about 24.8 days); longer delays are capped to it. */
export const MAX_DELAY_MS = 2_147_483_647;

/** The backoff settings, parsed (see {@link backoffDelay}). */
export interface BackoffSettings {
  /** Delay after the first failure, ms. */
  delayMs: number;
  /** Multiplier applied per further failure (>= 1). */
  backoff: number;
  /** Upper bound of a delay, ms. @default MAX_DELAY_MS */
  maxDelayMs?: number;
  /** Fraction of the delay that is random, 0 (none) to 1 (full jitter). @default 0 */
  jitter?: number;
}

/**
 * The delay before the next try after `failedAttempt` failures (pure; the random source is injected):
 * `min(maxDelay, delay * backoff^(failedAttempt-1))`, minus a random share of up to `jitter` of it.
 * With jitter `j` the result lies in `[d * (1 - j), d]` where `d` is the delay without jitter.
 * The result is a whole number of milliseconds, never above `maxDelayMs` nor {@link MAX_DELAY_MS}.
 * @example backoffDelay(3, { delayMs: 2000, backoff: 2 }) // 8000
 */
export function backoffDelay(
  failedAttempt: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  const cap = Math.min(settings.maxDelayMs ?? MAX_DELAY_MS, MAX_DELAY_MS);
  const raw = settings.delayMs * settings.backoff ** Math.max(0, failedAttempt - 1);
  const capped = Number.isFinite(raw) ? Math.min(raw, cap) : cap;
  const jitter = settings.jitter ?? 0;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(cap, Math.max(0, Math.round(capped - capped * jitter * r)));
}

/** What {@link RetryOnTimeoutOptions.onRetry} receives before each wait. */
export interface RetryInfo {
  /** The error of the failed try. */
  error: unknown;
  /** The number of the failed try (1 for the first call). */
  attempt: number;
  /** How long the helper waits before the next try, ms. */
  delayMs: number;
}

/** Options of {@link retryOnTimeout}. */
export interface RetryOnTimeoutOptions extends ToolkitOptions {
  /** Tries in all, including the first (an integer >= 1). @default 3 */
  maxAttempts?: number;
  /** Wait after the first failure. @default '2s' */
  delay?: Duration;
  /** Multiplier of the wait per further failure (a number >= 1). @default 2 */
  backoff?: number;
  /** Upper bound of a wait. @default no bound (besides {@link MAX_DELAY_MS}) */
  maxDelay?: Duration;
  /** Random share of each wait: `true` = full jitter (0 to the wait), a number in [0, 1] = that fraction. @default false */
  jitter?: boolean | number;
  /**
   * Also retry errors for which this returns true (a {@link TimeoutError} is always retried).
   * `attempt` is the number of the failed try.
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait (for metrics or logs); errors thrown by it are logged and ignored. */
  onRetry?: (info: RetryInfo) => void;
  /** Waits `ms`, rejecting with the signal's reason if it aborts. Inject a fake in tests. @default a timer */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Random source for the jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Stop retrying when this aborts (the running job's signal is followed anyway). */
  signal?: AbortSignal;
}

/** The parsed, validated settings of {@link retryOnTimeout}. */
interface RetrySettings {
  maxAttempts: number;
  backoff: BackoffSettings;
}

function parseRetryOptions(options: RetryOnTimeoutOptions): RetrySettings {
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConfigurationError(
      `retryOnTimeout: expected 'maxAttempts' to be an integer >= 1, got ${describeValue(maxAttempts)}`,
    );
  }
  const backoff = options.backoff ?? 2;
  if (typeof backoff !== 'number' || !Number.isFinite(backoff) || backoff < 1) {
    throw new ConfigurationError(
      `retryOnTimeout: expected 'backoff' to be a number >= 1, got ${describeValue(backoff)}`,
    );
  }
  const jitterOption = options.jitter ?? false;
  const jitter = jitterOption === true ? 1 : jitterOption === false ? 0 : jitterOption;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw new ConfigurationError(
      `retryOnTimeout: expected 'jitter' to be a boolean or a number from 0 to 1, got ${describeValue(jitterOption)}`,
    );
  }
  return {
    maxAttempts,
    backoff: {
      delayMs: parseDuration(options.delay ?? '2s', 'retryOnTimeout delay'),
      backoff,
      maxDelayMs:
        options.maxDelay === undefined ? undefined : parseDuration(options.maxDelay, 'retryOnTimeout maxDelay'),
      jitter,
    },
  };
}

/** The default sleep: a timer, cleared when `signal` aborts. */
function timerSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Wait `ms` with `sleep`, aborting when any of `parents` aborts. */
async function waitFollowing(
  ms: number,
  parents: AbortSignal[],
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const unlink = followSignals(controller, parents);
  try {
    controller.signal.throwIfAborted();
    await sleep(ms, controller.signal);
    controller.signal.throwIfAborted();
  } finally {
    unlink();
  }
}

async function callWithRetries<This, Args extends unknown[], R>(
  self: This,
  args: Args,
  fn: (this: This, ...args: Args) => R | PromiseLike<R>,
  name: string,
  settings: RetrySettings,
  options: RetryOnTimeoutOptions,
): Promise<R> {
  const logger = loggerOf(options);
  const sleep = options.sleep ?? timerSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn.apply(self, args);
    } catch (error) {
      const parents = parentSignals(options.signal);
      const retryable = error instanceof TimeoutError || (options.retryOn?.(error, attempt) ?? false);
      // A parent that has aborted (the job's own limit, a cancel) means there is no time left to retry in.
      if (!retryable || attempt >= settings.maxAttempts || parents.some((s) => s.aborted)) {
        if (retryable && attempt >= settings.maxAttempts) {
          safeLog(
            logger,
            'warn',
            { operation: name, attempts: attempt, err: errorFields(error) },
            `timeouts: '${name}' failed after ${attempt} attempt${attempt === 1 ? '' : 's'}, giving up`,
          );
        }
        throw error;
      }
      const delayMs = backoffDelay(attempt, settings.backoff, options.random);
      safeLog(
        logger,
        'warn',
        { operation: name, attempt, maxAttempts: settings.maxAttempts, delayMs, err: errorFields(error) },
        `timeouts: '${name}' attempt ${attempt}/${settings.maxAttempts} failed, retrying in ${formatMs(delayMs)}`,
      );
      try {
        options.onRetry?.({ error, attempt, delayMs });
      } catch (hookError) {
        safeLog(logger, 'error', { operation: name, err: errorFields(hookError) }, 'timeouts: onRetry hook failed');
      }
      await waitFollowing(delayMs, parents, sleep);
    }
  }
}

/**
 * Wrap `fn` so that a try failing with a {@link TimeoutError} (or an error `options.retryOn` accepts)
 * is retried, up to `maxAttempts` tries in all, waiting `delay * backoff^(n-1)` (capped by `maxDelay`,
 * with optional jitter) after the n-th failure. Other errors, and the last try's error, are thrown as
 * they are. Retrying stops at once when `options.signal` or the running job's signal aborts.
 *
 * Called without a function (`retryOnTimeout({ maxAttempts: 5 })`), it returns the method decorator
 * {@link retryOnTimeoutDecorator}.
 *
 * @throws ConfigurationError (synchronously) on invalid options.
 * @example
 * const fetchRates = retryOnTimeout(withTimeout.wrap('10s', loadRates), { maxAttempts: 3, delay: '2s', backoff: 2 });
 */
export function retryOnTimeout<This, Args extends unknown[], R>(
  fn: (this: This, ...args: Args) => R | PromiseLike<R>,
  options?: RetryOnTimeoutOptions,
): (this: This, ...args: Args) => Promise<R>;
/** The decorator form: `@retryOnTimeout({ maxAttempts: 3 })` (same as {@link retryOnTimeoutDecorator}). */
export function retryOnTimeout(options?: RetryOnTimeoutOptions): AsyncMethodDecorator;
export function retryOnTimeout<This, Args extends unknown[], R>(
  fnOrOptions?: ((this: This, ...args: Args) => R | PromiseLike<R>) | RetryOnTimeoutOptions,
  options: RetryOnTimeoutOptions = {},
): ((this: This, ...args: Args) => Promise<R>) | AsyncMethodDecorator {
  if (typeof fnOrOptions !== 'function') {
    if (fnOrOptions !== undefined && (typeof fnOrOptions !== 'object' || fnOrOptions === null)) {
      throw new ConfigurationError(
        `retryOnTimeout: expected a function to wrap (or decorator options), got ${describeValue(fnOrOptions)}`,
      );
    }
    return retryOnTimeoutDecorator(fnOrOptions);
  }
  const fn = fnOrOptions;
  const settings = parseRetryOptions(options);
  const name = operationName(options, fn);
  return function (this: This, ...args: Args): Promise<R> {
    return callWithRetries(this, args, fn, name, settings, options);
  };
}

/**
 * Method decorator retrying an `async` method on timeouts, as {@link retryOnTimeout} does.
 * Put it above `@timeout(…)` so each try gets its own time limit.
 * @example
 * class Rates {
 *   @retryOnTimeoutDecorator({ maxAttempts: 3, delay: '2s' })
 *   @timeout('10s')
 *   async load() { … }
 * }
 */
export function retryOnTimeoutDecorator(options: RetryOnTimeoutOptions = {}): AsyncMethodDecorator {
  const settings = parseRetryOptions(options);
  return function decorate<This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ): (this: This, ...args: Args) => Promise<R> {
    assertMethod(context, 'retryOnTimeout');
    const method = String(context.name);
    return function (this: This, ...args: Args): Promise<R> {
      const name = options.name ?? `${ownerName(this)}${method}`;
      return callWithRetries(this, args, value, name, settings, options);
    };
  };
}
