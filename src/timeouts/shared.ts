/**
 * What every helper of the timeout toolkit shares: the sink a timeout-log row goes to, the default
 * logger, the ambient timeout signal (`currentTimeoutSignal()`), duration formatting and signal linking.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { currentJob } from '../job/current.ts';
import type { CurrentJob } from '../job/current.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import { createLogger } from '../internal/logger.ts';
import type { Logger } from '../internal/logger.ts';

/** What {@link TimeoutSink.recordOperationError} receives when a detached operation fails. */
export interface OperationErrorInfo {
  /** The operation's id (see `asyncOperation`). */
  id: string;
  /** The operation's name. */
  operation: string;
  /** The error the operation threw. */
  error: unknown;
  /** How long the operation ran before it failed, ms. */
  durationMs: number;
  /** Model of the job the operation was started from, if any. */
  model?: string | null;
  /** Method of the job the operation was started from, if any. */
  method?: string | null;
  /** Id of the job the operation was started from, if any. */
  jobId?: number | null;
}

/**
 * Where timeout-log rows go: a `Conveyor` (its timeout log) or anything with `recordTimeout`.
 * Failures of the sink are logged, never thrown into user code.
 */
export interface TimeoutSink {
  /** Store one timeout-log row. */
  recordTimeout(entry: TimeoutLogEntryInput): Promise<void> | void;
  /** Optional: store the failure of a detached `asyncOperation`. */
  recordOperationError?(info: OperationErrorInfo): Promise<void> | void;
}

/**
 * Anything that owns a timeout log, such as a `Conveyor` (`conveyor.timeoutLog.record(entry)`):
 * accepted wherever a {@link TimeoutSink} is.
 */
export interface TimeoutLogOwner {
  /** The timeout log the rows are written to. */
  timeoutLog: { record(entry: TimeoutLogEntryInput): unknown };
  /** Optional: store the failure of a detached `asyncOperation`. */
  recordOperationError?(info: OperationErrorInfo): Promise<void> | void;
}

/** Options every helper of the toolkit accepts. */
export interface ToolkitOptions {
  /**
   * Record into this sink: a `Conveyor` (its timeout log) or any {@link TimeoutSink}.
   * Default: the running job's timeout log, else only log.
   */
  conveyor?: TimeoutSink | TimeoutLogOwner;
  /** Where warnings and errors are written. @default createLogger() */
  logger?: Logger;
  /** The operation's name, used in messages and in the timeout log. Default: the function's name. */
  name?: string;
}

let fallbackLogger: Logger | undefined;

/** The logger of `options`, else the toolkit's default logger (created on first use). */
export function loggerOf(options: { logger?: Logger } | undefined): Logger {
  if (options?.logger) return options.logger;
  fallbackLogger ??= createLogger({}, { component: 'timeouts' });
  return fallbackLogger;
}

/** The name of an operation: `options.name`, else the function's name, else the job's `model.method`, else `fallback`. */
export function operationName(
  options: { name?: string } | undefined,
  fn?: { readonly name: string },
  fallback = 'operation',
): string {
  if (options?.name) return options.name;
  if (fn?.name) return fn.name;
  const job = currentJob();
  return job ? `${job.model}.${job.method}` : fallback;
}

/**
 * Write one timeout-log row where the toolkit's resolution order says: `options.conveyor`, else the
 * running job (which fills model, method and job id), else nowhere (the caller logs). Never throws or
 * rejects: a failing sink is logged at `error` level. `job` is the job the operation started in
 * (captured at its start, since timer callbacks may run outside its context).
 * @returns whether a sink took the row.
 */
export async function recordEntry(
  entry: TimeoutLogEntryInput,
  options: ToolkitOptions | undefined,
  job: CurrentJob | undefined = currentJob(),
): Promise<boolean> {
  const sink = options?.conveyor;
  try {
    if (sink) {
      const row = withJobFields(entry, job);
      if (typeof (sink as TimeoutSink).recordTimeout === 'function') await (sink as TimeoutSink).recordTimeout(row);
      else if (typeof (sink as TimeoutLogOwner).timeoutLog?.record === 'function')
        await (sink as TimeoutLogOwner).timeoutLog.record(row);
      else throw new TypeError('the conveyor option has neither recordTimeout() nor timeoutLog.record()');
      return true;
    }
    if (job) {
      await job.recordTimeout(entry);
      return true;
    }
  } catch (err) {
    safeLog(
      loggerOf(options),
      'error',
      { err: errorFields(err), operation: entry.operation, kind: entry.kind },
      'timeouts: could not record the timeout log row',
    );
  }
  return false;
}

/** `entry` with the job's model, method and id filled in where absent. */
export function withJobFields(entry: TimeoutLogEntryInput, job: CurrentJob | undefined): TimeoutLogEntryInput {
  if (!job) return entry;
  return {
    ...entry,
    model: entry.model ?? job.model,
    method: entry.method ?? job.method,
    jobId: entry.jobId ?? job.id,
  };
}

/** Log without ever throwing (a broken logger must not break user code). */
export function safeLog(
  logger: Logger,
  level: 'debug' | 'info' | 'warn' | 'error',
  fields: Record<string, unknown>,
  msg: string,
): void {
  try {
    logger[level](fields, msg);
  } catch {
    // A logger that throws is ignored on purpose.
  }
}

/** A loggable, secret-free summary of an error. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error)
    return {
      name: err.name,
      message: err.message,
      ...('code' in err ? { code: (err as { code: unknown }).code } : {}),
    };
  return { message: String(err) };
}

/** The message of an error, for the `error` column of the timeout log. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Format milliseconds for humans: `250ms`, `1.5s`, `90s`, `5m`, `1h`, `2h30m`.
 * Whole minutes and hours use the larger unit; anything else is shown in seconds.
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 3_600_000 && ms % 60_000 === 0) return `${Math.floor(ms / 3_600_000)}h${(ms % 3_600_000) / 60_000}m`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** The current time, ms since the epoch (read through `Date.now` so `mock.timers` can move it). */
export function now(): number {
  return Date.now();
}

const signalStorage = new AsyncLocalStorage<AbortSignal>();

/**
 * The signal the code running now should honour: the innermost `withTimeout` / `timeoutContext` /
 * `@timeout` signal, else the running job's signal, else `undefined`.
 * @example
 * await fetch(url, { signal: currentTimeoutSignal() });
 */
export function currentTimeoutSignal(): AbortSignal | undefined {
  return signalStorage.getStore() ?? currentJob()?.signal;
}

/** Run `fn` with `signal` as the innermost timeout signal. */
export function runWithTimeoutSignal<T>(signal: AbortSignal, fn: () => T): T {
  return signalStorage.run(signal, fn);
}

/** The signals an operation started now must follow: `extra`, the ambient timeout signal, the job's signal (deduplicated). */
export function parentSignals(extra: AbortSignal | undefined): AbortSignal[] {
  const list = [extra, signalStorage.getStore(), currentJob()?.signal];
  const out: AbortSignal[] = [];
  for (const s of list) if (s && !out.includes(s)) out.push(s);
  return out;
}

/**
 * Abort `controller` when any of `parents` aborts (with that parent's reason).
 * @returns a function removing the listeners; call it when the operation ends so long-lived parents
 * (a job's signal) do not accumulate listeners.
 */
export function followSignals(
  controller: AbortController,
  parents: readonly AbortSignal[],
  onAbort?: (reason: unknown) => void,
): () => void {
  const aborted = parents.find((s) => s.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    onAbort?.(aborted.reason);
    return () => {};
  }
  const listeners: Array<[AbortSignal, () => void]> = [];
  const unlink = (): void => {
    for (const [s, l] of listeners) s.removeEventListener('abort', l);
    listeners.length = 0;
  };
  for (const s of parents) {
    const l = () => {
      unlink();
      controller.abort(s.reason);
      onAbort?.(s.reason);
    };
    s.addEventListener('abort', l, { once: true });
    listeners.push([s, l]);
  }
  return unlink;
}

/** The first aborted signal's reason, thrown; nothing when none is aborted. */
export function throwIfAnyAborted(signals: readonly AbortSignal[]): void {
  for (const s of signals) s.throwIfAborted();
}

/** Whether `value` is a plain object (`{}` literal or `Object.create(null)`). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
