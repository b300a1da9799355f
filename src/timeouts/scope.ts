/**
 * `timeoutScope`: a disposable time budget for a block of code (`using scope = timeoutScope('10m', 'Export')`).
 * @module
 */
import { TimeoutError } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import type { Duration } from '../internal/duration.ts';
import { currentJob } from '../job/current.ts';
import { followSignals, formatMs, loggerOf, now, parentSignals, recordEntry, safeLog } from './shared.ts';
import type { ToolkitOptions } from './shared.ts';

/** Options of {@link timeoutScope}. */
export interface TimeoutScopeOptions extends Omit<ToolkitOptions, 'name'> {
  /** A parent signal the scope's signal follows (the running job's signal is followed anyway). */
  signal?: AbortSignal;
}

/** A time budget for a block of code, returned by {@link timeoutScope}. */
export interface TimeoutScope extends Disposable, AsyncDisposable {
  /** The operation's name. */
  readonly name: string;
  /** The limit, ms. */
  readonly limitMs: number;
  /** Aborts at the limit (reason: a {@link TimeoutError}) or when a parent signal aborts. */
  readonly signal: AbortSignal;
  /** Milliseconds since the scope was opened. */
  readonly elapsedMs: number;
  /** Milliseconds left before the limit (0 once past it). */
  readonly remainingMs: number;
  /** Whether the limit has been reached (also true when the timer could not fire yet because the event loop was busy). */
  readonly expired: boolean;
  /**
   * Throw when the scope is over: a {@link TimeoutError} once past the limit (checked against the
   * clock, so it works in synchronous loops where the timer cannot fire), or a parent signal's reason.
   */
  check(): void;
  /** Close the scope: clear the timer and, when the limit was exceeded, write the `timeout` row (in the background). */
  [Symbol.dispose](): void;
  /** Close the scope like `[Symbol.dispose]` and wait for the row to be written (`await using`). */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Open a time budget for a block of code (Odoo's `timeout_context` as a disposable).
 *
 * The scope's `signal` aborts at the limit; `check()` throws once the limit is passed; disposing the
 * scope clears its timer and, when the limit was exceeded, logs a warning and writes a row
 * `{ kind: 'timeout', exceeded: true }` to the sink (`options.conveyor`, else the running job, else
 * only the log). Unlike {@link withTimeout} nothing is interrupted for you: long code calls `check()`
 * or passes `signal` on. Always dispose the scope (`using`), or its timer keeps running until the limit.
 *
 * @example
 * {
 *   using scope = timeoutScope('10m', 'Export');
 *   for (const id of ids) { scope.check(); await exportOne(id, { signal: scope.signal }); }
 * } // disposed here
 */
export function timeoutScope(limit: Duration, name: string, options: TimeoutScopeOptions = {}): TimeoutScope {
  const limitMs = parseDuration(limit, 'timeout limit');
  const logger = loggerOf(options);
  const job = currentJob();
  const start = now();
  const controller = new AbortController();
  let timedOut: TimeoutError | undefined;
  let disposed = false;
  let recording: Promise<unknown> | undefined;

  const expire = (): TimeoutError => {
    if (!timedOut) {
      timedOut = new TimeoutError(`operation '${name}' exceeded its time limit of ${formatMs(limitMs)}`, limitMs, {
        details: { operation: name, limitMs },
      });
      if (!controller.signal.aborted) controller.abort(timedOut);
    }
    return timedOut;
  };
  const unlink = followSignals(controller, parentSignals(options.signal));
  let timer: ReturnType<typeof setTimeout> | undefined = controller.signal.aborted
    ? undefined
    : setTimeout(() => {
        timer = undefined;
        expire();
      }, limitMs);

  const close = (): Promise<unknown> => {
    if (disposed) return recording ?? Promise.resolve();
    disposed = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    unlink();
    const durationMs = now() - start;
    if (timedOut || durationMs >= limitMs) {
      const error = expire();
      safeLog(logger, 'warn', { operation: name, limitMs, durationMs }, `timeouts: ${error.message}`);
      recording = recordEntry(
        { operation: name, kind: 'timeout', exceeded: true, thresholdMs: limitMs, durationMs, error: error.message },
        options,
        job,
      );
      return recording;
    }
    return Promise.resolve();
  };

  return {
    name,
    limitMs,
    signal: controller.signal,
    get elapsedMs() {
      return now() - start;
    },
    get remainingMs() {
      return Math.max(0, limitMs - (now() - start));
    },
    get expired() {
      return timedOut !== undefined || now() - start >= limitMs;
    },
    check() {
      if (timedOut || now() - start >= limitMs) throw expire();
      controller.signal.throwIfAborted();
    },
    [Symbol.dispose]() {
      void close();
    },
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}
