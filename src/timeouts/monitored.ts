/**
 * `monitored` (Odoo's `timeout_monitored(threshold=60)` and `timeout.monitor.mixin`): measure a
 * function, never interrupt it, and log and record the calls that take longer than a threshold.
 * @module
 */
import { ConfigurationError } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import type { Duration } from '../internal/duration.ts';
import { currentJob } from '../job/current.ts';
import { assertMethod, ownerName } from './with-timeout.ts';
import { errorMessage, formatMs, loggerOf, now, operationName, recordEntry, safeLog } from './shared.ts';
import type { ToolkitOptions } from './shared.ts';

/** Options of {@link monitored}. */
export interface MonitoredOptions extends ToolkitOptions {
  /** Calls longer than this are logged and recorded. @default '60s' */
  threshold?: Duration;
}

/**
 * A TC39 (stage 3) decorator for methods, sync or async, that keeps the method's type
 * (returned by {@link monitoredDecorator}).
 */
export type MethodDecorator = <This, Args extends unknown[], R>(
  value: (this: This, ...args: Args) => R,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
) => (this: This, ...args: Args) => R;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function callMonitored<This, Args extends unknown[], R>(
  self: This,
  args: Args,
  fn: (this: This, ...args: Args) => R,
  name: string,
  thresholdMs: number,
  options: MonitoredOptions,
): R {
  const start = now();
  const job = currentJob();
  const measure = (failed: boolean, error?: unknown): Promise<unknown> | undefined => {
    const durationMs = now() - start;
    if (durationMs <= thresholdMs) return undefined;
    safeLog(
      loggerOf(options),
      'warn',
      { operation: name, thresholdMs, durationMs },
      `timeouts: '${name}' took ${formatMs(durationMs)}, over its threshold of ${formatMs(thresholdMs)}`,
    );
    return recordEntry(
      {
        operation: name,
        kind: 'monitor',
        exceeded: true,
        thresholdMs,
        durationMs,
        error: failed ? errorMessage(error) : null,
      },
      options,
      job,
    );
  };
  let result: R;
  try {
    result = fn.apply(self, args);
  } catch (error) {
    void measure(true, error);
    throw error;
  }
  if (!isThenable(result)) {
    void measure(false);
    return result;
  }
  return Promise.resolve(result).then(
    async (value) => {
      await measure(false);
      return value;
    },
    async (error: unknown) => {
      await measure(true, error);
      throw error;
    },
  ) as R;
}

/**
 * Wrap `fn` so each call is timed. A call that takes longer than `threshold` (default 60 s) logs a
 * warning and writes a row `{ kind: 'monitor', exceeded: true, thresholdMs, durationMs }` (with the
 * error message when it failed) to the sink: `options.conveyor`, else the running job, else only the
 * log. Calls within the threshold write nothing. Nothing is ever aborted.
 *
 * The wrapped function has `fn`'s exact type: a synchronous function stays synchronous (its row is
 * written in the background); for an async one the returned promise settles after the row is written.
 *
 * Called with a duration instead of a function (`monitored('60s')`), it returns the method decorator
 * {@link monitoredDecorator}.
 *
 * @throws ConfigurationError (synchronously) when `threshold` is not a valid duration.
 * @example
 * const syncPartners = monitored(doSync, { threshold: '30s', name: 'partner sync' });
 */
export function monitored<This, Args extends unknown[], R>(
  fn: (this: This, ...args: Args) => R,
  options?: MonitoredOptions,
): (this: This, ...args: Args) => R;
/** The decorator form: `@monitored('60s')` (same as {@link monitoredDecorator}). */
export function monitored(threshold?: Duration, options?: Omit<MonitoredOptions, 'threshold'>): MethodDecorator;
/** The decorator form with options only: `@monitored({ threshold: '30s', name: 'sync' })`. */
export function monitored(options: MonitoredOptions): MethodDecorator;
export function monitored<This, Args extends unknown[], R>(
  fnOrThreshold?: ((this: This, ...args: Args) => R) | Duration | MonitoredOptions,
  options: MonitoredOptions = {},
): ((this: This, ...args: Args) => R) | MethodDecorator {
  if (typeof fnOrThreshold === 'object' && fnOrThreshold !== null)
    return monitoredDecorator(fnOrThreshold.threshold, fnOrThreshold);
  if (typeof fnOrThreshold !== 'function') return monitoredDecorator(fnOrThreshold, options);
  const fn = fnOrThreshold;
  const thresholdMs = parseDuration(options.threshold ?? '60s', 'monitor threshold');
  const name = operationName(options, fn);
  return function (this: This, ...args: Args): R {
    return callMonitored(this, args, fn, name, thresholdMs, options);
  };
}

/**
 * Method decorator timing each call of a method, as {@link monitored} does. The operation name
 * defaults to `ClassName.method`.
 * @example
 * class PartnerSync {
 *   @monitoredDecorator('30s')
 *   async run() { … }
 * }
 */
export function monitoredDecorator(
  threshold: Duration = '60s',
  options: Omit<MonitoredOptions, 'threshold'> = {},
): MethodDecorator {
  if (typeof threshold === 'object' && threshold !== null) {
    throw new ConfigurationError(
      "monitoredDecorator: pass the threshold first, e.g. monitoredDecorator('60s', { name })",
    );
  }
  const thresholdMs = parseDuration(threshold, 'monitor threshold');
  return function decorate<This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
  ): (this: This, ...args: Args) => R {
    assertMethod(context, 'monitored');
    const method = String(context.name);
    return function (this: This, ...args: Args): R {
      const name = options.name ?? `${ownerName(this)}${method}`;
      return callMonitored(this, args, value, name, thresholdMs, options);
    };
  };
}
