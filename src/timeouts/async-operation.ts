/**
 * `asyncOperation` (Odoo's `async_operation`): run a function detached from the caller, in the
 * caller's context, with its errors logged and recorded instead of lost.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ConfigurationError, ConveyorError } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import type { Duration } from '../internal/duration.ts';
import { currentJob } from '../job/current.ts';
import { runWithTimeout } from './with-timeout.ts';
import {
  errorFields,
  followSignals,
  loggerOf,
  now,
  operationName,
  parentSignals,
  runWithTimeoutSignal,
  safeLog,
} from './shared.ts';
import type { ToolkitOptions } from './shared.ts';

/** Options of {@link asyncOperation}. */
export interface AsyncOperationOptions extends ToolkitOptions {
  /** Called with the error when the operation fails (not when it is cancelled); its own errors are logged. */
  onError?: (error: unknown) => void | Promise<void>;
  /** Cancel the operation when this aborts. An enclosing `withTimeout` and the running job's signal are followed too. */
  signal?: AbortSignal;
  /** Run the operation under {@link withTimeout} with this limit (a `timeout` row is written when it is exceeded). */
  timeout?: Duration;
}

/** How an {@link asyncOperation} ended: its value, or its error (`cancelled` when it was cancelled). */
export type OperationOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown; cancelled: boolean };

/** A detached operation started by {@link asyncOperation}. */
export interface AsyncOperation<T> {
  /** A unique id (UUID), also in the log lines. */
  readonly id: string;
  /** The operation's name. */
  readonly name: string;
  /** The signal handed to the function; aborts on `cancel()` or when a parent signal aborts. */
  readonly signal: AbortSignal;
  /** Resolves when the operation ends or is cancelled. Never rejects. */
  readonly done: Promise<OperationOutcome<T>>;
  /**
   * Abort the operation's signal and resolve `done` at once with `{ ok: false, cancelled: true }`
   * (a function that ignores the signal runs on, but its outcome is dropped). No effect once ended.
   * @param reason the abort reason. @default a ConveyorError with code `CANCELLED`
   */
  cancel(reason?: unknown): void;
}

/**
 * Start `fn(signal)` detached: it begins on a later turn of the event loop (`setImmediate`), in the
 * caller's AsyncLocalStorage context (the job, `conveyor.context`, an enclosing timeout). Its outcome
 * lands in `done`, which never rejects; a failure is logged at `error` level, handed to `onError`, and
 * given to `options.conveyor.recordOperationError` when the sink has that method. Nothing becomes an
 * unhandled rejection.
 *
 * This is in-process and not durable: if the process stops, the operation is lost. Durable background
 * work is a job (`withDelay`).
 *
 * @throws ConfigurationError (synchronously) when `fn` is not a function or `timeout` is invalid.
 * @example
 * const op = asyncOperation(async (signal) => rebuildSearchIndex({ signal }), { name: 'reindex' });
 * res.end('started ' + op.id);
 * const outcome = await op.done; // { ok: true, value } | { ok: false, error, cancelled }
 */
export function asyncOperation<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: AsyncOperationOptions = {},
): AsyncOperation<T> {
  if (typeof fn !== 'function') throw new ConfigurationError('asyncOperation: expected a function to run');
  const timeoutMs =
    options.timeout === undefined ? undefined : parseDuration(options.timeout, 'asyncOperation timeout');
  const id = randomUUID();
  const name = operationName(options, fn, 'asyncOperation');
  const logger = loggerOf(options);
  const job = currentJob();
  const controller = new AbortController();
  let resolve!: (outcome: OperationOutcome<T>) => void;
  const done = new Promise<OperationOutcome<T>>((r) => {
    resolve = r;
  });
  let ended = false;

  const unlink = followSignals(controller, parentSignals(options.signal));
  const onAbort = (): void => {
    if (ended) return;
    ended = true;
    unlink();
    safeLog(logger, 'info', { operation: name, id }, `asyncOperation '${name}' cancelled`);
    resolve({ ok: false, error: controller.signal.reason, cancelled: true });
  };
  if (controller.signal.aborted) onAbort();
  else controller.signal.addEventListener('abort', onAbort, { once: true });

  const fail = async (error: unknown, start: number): Promise<void> => {
    safeLog(logger, 'error', { operation: name, id, err: errorFields(error) }, `asyncOperation '${name}' failed`);
    try {
      await options.onError?.(error);
    } catch (hookError) {
      safeLog(
        logger,
        'error',
        { operation: name, id, err: errorFields(hookError) },
        `asyncOperation '${name}': onError failed`,
      );
    }
    try {
      await options.conveyor?.recordOperationError?.({
        id,
        operation: name,
        error,
        durationMs: now() - start,
        model: job?.model ?? null,
        method: job?.method ?? null,
        jobId: job?.id ?? null,
      });
    } catch (recordError) {
      safeLog(
        logger,
        'error',
        { operation: name, id, err: errorFields(recordError) },
        `asyncOperation '${name}': could not record the error`,
      );
    }
  };

  const run = async (): Promise<void> => {
    if (ended) return;
    const start = now();
    const signal = controller.signal;
    let outcome: OperationOutcome<T>;
    try {
      const value = await runWithTimeoutSignal(signal, () =>
        timeoutMs === undefined ? fn(signal) : runWithTimeout(timeoutMs, name, (inner) => fn(inner), options),
      );
      outcome = { ok: true, value };
    } catch (error) {
      outcome = { ok: false, error, cancelled: false };
    }
    if (ended) {
      safeLog(
        logger,
        'debug',
        { operation: name, id },
        `asyncOperation '${name}' finished after it was cancelled; outcome dropped`,
      );
      return;
    }
    ended = true;
    controller.signal.removeEventListener('abort', onAbort);
    unlink();
    if (!outcome.ok) await fail(outcome.error, start);
    resolve(outcome);
  };

  const inContext = AsyncLocalStorage.snapshot();
  setImmediate(() => {
    inContext(run).catch((error: unknown) => {
      // run() handles everything; this only guards against a broken logger or hook.
      if (!ended) {
        ended = true;
        resolve({ ok: false, error, cancelled: false });
      }
    });
  });

  return {
    id,
    name,
    signal: controller.signal,
    done,
    cancel(reason?: unknown) {
      if (ended) return;
      controller.abort(
        reason ??
          new ConveyorError('CANCELLED', `operation '${name}' was cancelled`, { details: { operation: name, id } }),
      );
    },
  };
}
