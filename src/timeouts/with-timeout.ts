/**
 * `withTimeout`, `timeoutContext` and the `@timeout` decorator (Odoo's `@with_timeout` and
 * `timeout_context`): run a function with a time limit, abort its signal at the limit, reject with a
 * {@link TimeoutError} even when the function ignores the signal, and write a `timeout` row.
 * @module
 */
import { ConfigurationError, TimeoutError, describeValue } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import { currentJob } from '../job/current.ts';
import type { Duration } from '../internal/duration.ts';
import {
  followSignals,
  formatMs,
  loggerOf,
  now,
  operationName,
  parentSignals,
  recordEntry,
  runWithTimeoutSignal,
  safeLog,
} from './shared.ts';
import type { ToolkitOptions } from './shared.ts';

/** Options of {@link withTimeout}, {@link timeoutContext} and {@link timeout}. */
export interface WithTimeoutOptions extends ToolkitOptions {
  /**
   * A parent signal: when it aborts, the operation's signal aborts too and the returned promise
   * rejects with the parent's reason (no timeout row is written for that). Inside a job, the job's
   * signal and any enclosing `withTimeout` signal are followed as well.
   */
  signal?: AbortSignal;
}

/**
 * A TC39 (stage 3) decorator for `async` methods, as returned by {@link timeout},
 * `retryOnTimeoutDecorator` and friends. Apply it with `@` in code compiled by TypeScript 5+
 * (Node's type stripping does not run decorator syntax).
 */
export type AsyncMethodDecorator = <This, Args extends unknown[], R>(
  value: (this: This, ...args: Args) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
) => (this: This, ...args: Args) => Promise<R>;

/**
 * Run `fn(signal)` with a time limit.
 *
 * At the limit, `signal` aborts with a {@link TimeoutError} as its reason, the returned promise rejects
 * with that error (even when `fn` ignores the signal; a late result or error of `fn` is dropped), a
 * warning is logged and a row `{ kind: 'timeout', exceeded: true, thresholdMs, durationMs }` is written
 * to the sink (`options.conveyor`, else the running job's timeout log, else nowhere). The promise
 * settles after that write has finished or failed (a failed write is logged, never thrown). Finishing
 * in time writes nothing.
 *
 * Inside `fn`, {@link currentTimeoutSignal} returns `signal`. The signal also follows `options.signal`,
 * an enclosing `withTimeout` and the running job's signal; when one of them aborts, the promise rejects
 * with its reason.
 *
 * Called without a function (`withTimeout('5m')` or `withTimeout('5m', { name })`), it returns the
 * method decorator {@link timeout}.
 *
 * @param limit milliseconds or a duration string such as `'5m'`.
 * @throws ConfigurationError (synchronously) when `limit` is not a valid duration.
 * @example
 * const rows = await withTimeout('30s', (signal) => fetchRows({ signal }), { name: 'fetchRows' });
 */
export function withTimeout<T>(
  limit: Duration,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options?: WithTimeoutOptions,
): Promise<T>;
/** The decorator form: `@withTimeout('5m') async method() {}` (same as {@link timeout}). */
export function withTimeout(limit: Duration, options?: WithTimeoutOptions): AsyncMethodDecorator;
export function withTimeout<T>(
  limit: Duration,
  fnOrOptions?: ((signal: AbortSignal) => T | PromiseLike<T>) | WithTimeoutOptions,
  options: WithTimeoutOptions = {},
): Promise<T> | AsyncMethodDecorator {
  if (typeof fnOrOptions !== 'function') {
    if (fnOrOptions !== undefined && (typeof fnOrOptions !== 'object' || fnOrOptions === null)) {
      throw new ConfigurationError(
        `withTimeout: expected a function to run (or decorator options), got ${describeValue(fnOrOptions)}`,
      );
    }
    return timeout(limit, fnOrOptions);
  }
  const limitMs = parseDuration(limit, 'timeout limit');
  return runWithTimeout(limitMs, operationName(options, fnOrOptions), fnOrOptions, options);
}

/**
 * Wrap `fn` so every call runs under {@link withTimeout}. The wrapped function keeps `fn`'s
 * parameters and `this`; inside it, {@link currentTimeoutSignal} returns the call's signal.
 * @example
 * const exportAll = withTimeout.wrap('10m', exportPartners, { name: 'Export' });
 * await exportAll(ids);
 */
withTimeout.wrap = function wrap<This, Args extends unknown[], R>(
  limit: Duration,
  fn: (this: This, ...args: Args) => R | PromiseLike<R>,
  options: WithTimeoutOptions = {},
): (this: This, ...args: Args) => Promise<R> {
  if (typeof fn !== 'function') throw new ConfigurationError('withTimeout.wrap: expected a function to wrap');
  const limitMs = parseDuration(limit, 'timeout limit');
  const name = operationName(options, fn);
  return function (this: This, ...args: Args): Promise<R> {
    return runWithTimeout(limitMs, name, () => fn.apply(this, args), options);
  };
};

/**
 * Method decorator running each call of an `async` method under {@link withTimeout}.
 * The operation name defaults to `ClassName.method`. The method gets no extra parameter: it reads
 * the signal with {@link currentTimeoutSignal}.
 * @example
 * class Exporter {
 *   @timeout('5m')
 *   async run() { await step({ signal: currentTimeoutSignal() }); }
 * }
 */
export function timeout(limit: Duration, options: WithTimeoutOptions = {}): AsyncMethodDecorator {
  const limitMs = parseDuration(limit, 'timeout limit');
  return function decorate<This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ): (this: This, ...args: Args) => Promise<R> {
    assertMethod(context, 'timeout');
    const method = String(context.name);
    return function (this: This, ...args: Args): Promise<R> {
      const name = options.name ?? `${ownerName(this)}${method}`;
      return runWithTimeout(limitMs, name, () => value.apply(this, args), options);
    };
  };
}

/** Alias of {@link timeout}, for code that prefers the longer name. */
export const withTimeoutDecorator: typeof timeout = timeout;

/**
 * Odoo's `with timeout_context(600, "Export")`: run `fn(signal)` under {@link withTimeout} with the
 * given operation name.
 * @example
 * await timeoutContext('10m', 'Export', async (signal) => { for (const id of ids) { signal.throwIfAborted(); await exportOne(id); } });
 */
export function timeoutContext<T>(
  limit: Duration,
  name: string,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: Omit<WithTimeoutOptions, 'name'> = {},
): Promise<T> {
  return withTimeout(limit, fn, { ...options, name });
}

/** @internal The engine of {@link withTimeout}; `limitMs` is already parsed. */
export function runWithTimeout<T>(
  limitMs: number,
  name: string,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: WithTimeoutOptions,
): Promise<T> {
  const parents = parentSignals(options.signal);
  const alreadyAborted = parents.find((s) => s.aborted);
  if (alreadyAborted) return Promise.reject(alreadyAborted.reason);

  const logger = loggerOf(options);
  const job = currentJob();
  const controller = new AbortController();
  const start = now();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unlink = (): void => {};
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      unlink();
      return true;
    };
    unlink = followSignals(controller, parents, (reason) => {
      if (finish()) reject(reason);
    });
    timer = setTimeout(() => {
      if (!finish()) return;
      const durationMs = now() - start;
      const error = new TimeoutError(`operation '${name}' exceeded its time limit of ${formatMs(limitMs)}`, limitMs, {
        details: { operation: name, limitMs },
      });
      controller.abort(error);
      safeLog(logger, 'warn', { operation: name, limitMs, durationMs }, `timeouts: ${error.message}`);
      void recordEntry(
        { operation: name, kind: 'timeout', exceeded: true, thresholdMs: limitMs, durationMs, error: error.message },
        options,
        job,
      ).then(() => reject(error));
    }, limitMs);

    let result: T | PromiseLike<T>;
    try {
      result = runWithTimeoutSignal(controller.signal, () => fn(controller.signal));
    } catch (err) {
      if (finish()) reject(err);
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (finish()) resolve(value);
      },
      (err: unknown) => {
        if (finish()) reject(err);
        else
          safeLog(
            logger,
            'debug',
            { operation: name, err: String(err) },
            'timeouts: error after the time limit ignored',
          );
      },
    );
  });
}

/** `ClassName.` for an instance or a class (static method), else an empty string. */
export function ownerName(self: unknown): string {
  if (typeof self === 'function' && self.name) return `${self.name}.`;
  if (self !== null && typeof self === 'object') {
    const ctor = (self as { constructor?: { name?: string } }).constructor;
    if (ctor?.name && ctor.name !== 'Object') return `${ctor.name}.`;
  }
  return '';
}

/** Throw a clear error when a method decorator is put on something else. */
export function assertMethod(context: { kind: string; name: string | symbol }, decorator: string): void {
  if (context.kind !== 'method') {
    throw new ConfigurationError(`@${decorator} decorates methods, got a ${context.kind} ('${String(context.name)}')`);
  }
}
