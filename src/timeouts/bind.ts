/**
 * `bindTimeouts`: the whole toolkit with default options (a sink, a logger) filled in — what
 * `conveyor.timeouts` exposes, bound to that Conveyor.
 * @module
 */
import type { Duration } from '../internal/duration.ts';
import { asyncOperation } from './async-operation.ts';
import type { AsyncOperation, AsyncOperationOptions } from './async-operation.ts';
import { BatchProcessor, batchProcess } from './batch.ts';
import type { BatchProcessOptions, BatchProcessSummary, BatchProcessorOptions } from './batch.ts';
import { monitored, monitoredDecorator } from './monitored.ts';
import type { MethodDecorator, MonitoredOptions } from './monitored.ts';
import { ProgressTracker } from './progress.ts';
import type { ProgressTrackerOptions } from './progress.ts';
import { retryOnTimeout, retryOnTimeoutDecorator } from './retry.ts';
import type { RetryOnTimeoutOptions } from './retry.ts';
import { timeoutScope } from './scope.ts';
import type { TimeoutScope, TimeoutScopeOptions } from './scope.ts';
import type { ToolkitOptions } from './shared.ts';
import { timeout, timeoutContext, withTimeout } from './with-timeout.ts';
import type { AsyncMethodDecorator, WithTimeoutOptions } from './with-timeout.ts';

/** The toolkit with defaults bound (see {@link bindTimeouts}); each option given at a call wins over the default. */
export interface BoundTimeouts {
  /** {@link withTimeout} (function form). */
  withTimeout<T>(
    limit: Duration,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: WithTimeoutOptions,
  ): Promise<T>;
  /** `withTimeout.wrap`. */
  wrapWithTimeout<This, Args extends unknown[], R>(
    limit: Duration,
    fn: (this: This, ...args: Args) => R | PromiseLike<R>,
    options?: WithTimeoutOptions,
  ): (this: This, ...args: Args) => Promise<R>;
  /** The {@link timeout} decorator. */
  timeout(limit: Duration, options?: WithTimeoutOptions): AsyncMethodDecorator;
  /** {@link timeoutContext}. */
  timeoutContext<T>(
    limit: Duration,
    name: string,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: Omit<WithTimeoutOptions, 'name'>,
  ): Promise<T>;
  /** {@link timeoutScope}. */
  timeoutScope(limit: Duration, name: string, options?: TimeoutScopeOptions): TimeoutScope;
  /** {@link retryOnTimeout} (function form). */
  retryOnTimeout<This, Args extends unknown[], R>(
    fn: (this: This, ...args: Args) => R | PromiseLike<R>,
    options?: RetryOnTimeoutOptions,
  ): (this: This, ...args: Args) => Promise<R>;
  /** {@link retryOnTimeoutDecorator}. */
  retryOnTimeoutDecorator(options?: RetryOnTimeoutOptions): AsyncMethodDecorator;
  /** {@link monitored} (function form). */
  monitored<This, Args extends unknown[], R>(
    fn: (this: This, ...args: Args) => R,
    options?: MonitoredOptions,
  ): (this: This, ...args: Args) => R;
  /** {@link monitoredDecorator}. */
  monitoredDecorator(threshold?: Duration, options?: Omit<MonitoredOptions, 'threshold'>): MethodDecorator;
  /** {@link batchProcess}. */
  batchProcess<T>(
    items: Iterable<T> | AsyncIterable<T>,
    options?: BatchProcessOptions<T>,
  ): AsyncGenerator<T[], BatchProcessSummary, void>;
  /** `new BatchProcessor(options)`. */
  batchProcessor<T, R = unknown>(options?: BatchProcessorOptions<T>): BatchProcessor<T, R>;
  /** {@link asyncOperation}. */
  asyncOperation<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: AsyncOperationOptions,
  ): AsyncOperation<T>;
  /** `new ProgressTracker(options)`. */
  progressTracker(options: ProgressTrackerOptions): ProgressTracker;
}

/**
 * The toolkit with `defaults` (usually `{ conveyor, logger }`) filled into every call. `name` is not
 * taken from the defaults (each operation has its own).
 * @example
 * const timeouts = bindTimeouts({ conveyor });
 * await timeouts.withTimeout('5m', (signal) => work(signal), { name: 'work' }); // recorded into conveyor
 */
export function bindTimeouts(defaults: ToolkitOptions): BoundTimeouts {
  const base: ToolkitOptions = { conveyor: defaults.conveyor, logger: defaults.logger };
  for (const k of Object.keys(base) as (keyof ToolkitOptions)[]) if (base[k] === undefined) delete base[k];
  const withBase = <O extends object>(options: O | undefined): O => ({ ...base, ...options }) as O;
  return {
    withTimeout: (limit, fn, options) => withTimeout(limit, fn, withBase(options)),
    wrapWithTimeout: (limit, fn, options) => withTimeout.wrap(limit, fn, withBase(options)),
    timeout: (limit, options) => timeout(limit, withBase(options)),
    timeoutContext: (limit, name, fn, options) => timeoutContext(limit, name, fn, withBase(options)),
    timeoutScope: (limit, name, options) => timeoutScope(limit, name, withBase(options)),
    retryOnTimeout: (fn, options) => retryOnTimeout(fn, withBase(options)),
    retryOnTimeoutDecorator: (options) => retryOnTimeoutDecorator(withBase(options)),
    monitored: (fn, options) => monitored(fn, withBase(options)),
    monitoredDecorator: (threshold, options) => monitoredDecorator(threshold, withBase(options)),
    batchProcess: (items, options) => batchProcess(items, { logger: base.logger, ...options }),
    batchProcessor: (options) => new BatchProcessor({ logger: base.logger, ...options }),
    asyncOperation: (fn, options) => asyncOperation(fn, withBase(options)),
    progressTracker: (options) => new ProgressTracker({ logger: base.logger, ...options }),
  };
}
