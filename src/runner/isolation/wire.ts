/**
 * What the pool and its worker processes say to each other over IPC (advanced serialisation, so Date,
 * bigint, Map… survive), and how errors and outcomes cross it: an error comes back with its name,
 * message, stack, `code`, and the fields the outcome rules look at (`RetryableJobError.seconds` and
 * `ignoreRetry`, `TimeoutError.limitMs`, a limit `kind`), rebuilt as the same Conveyor error class.
 * @module
 */
import {
  ConveyorError,
  ErrorCodes,
  NothingToDoJob,
  RetryableJobError,
  TimeoutError,
  type ErrorCode,
} from '../../errors.ts';
import type { JobTransactionJob } from '../../drivers/driver.ts';
import type { JobProgress } from '../../job/row.ts';
import type { TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import type { RetryPattern } from '../../retry/pattern.ts';
import type { ExecuteParams } from '../executor.ts';
import type { Outcome } from '../outcome.ts';

/** An error as it crosses the process boundary. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  seconds?: number;
  ignoreRetry?: boolean;
  limitMs?: number;
  kind?: string;
  details?: Record<string, unknown>;
  cause?: WireError;
}

/** An {@link Outcome} as it crosses the process boundary. */
export type WireOutcome =
  | { kind: 'done'; result: unknown }
  | {
      kind: 'retry';
      delayMs: number;
      countTry: boolean;
      reason: 'retryable' | 'timeout' | 'concurrency';
      error: WireError;
    }
  | { kind: 'failed'; reason: 'error' | 'max_retries' | 'timeout' | 'setup'; error: WireError };

/** The fields of a job a worker needs to run it. */
export type WireJob = ExecuteParams['job'];

/** Parent → worker. */
export type ToWorker =
  | { t: 'run'; job: WireJob; tx?: JobTransactionJob }
  | { t: 'reply'; id: number; error?: WireError };

/** What a job asks its runner to do while it runs. */
export type WorkerCall =
  | { op: 'progress'; value: JobProgress }
  | { op: 'checkpoint'; value: unknown }
  | { op: 'timeoutLog'; value: TimeoutLogEntryInput }
  /** The job's own transaction committed (at this time): the job is done in the database. */
  | { op: 'committed'; value: number };

/** Worker → parent. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'fatal'; error: WireError }
  | { t: 'started'; retryPattern: RetryPattern | null; retryOnTimeout: boolean }
  | ({ t: 'call'; id: number } & WorkerCall)
  | { t: 'result'; outcome: WireOutcome; exiting: boolean }
  | { t: 'stats'; cpuMs: number; rss: number };

const CODES = new Set<string>(Object.values(ErrorCodes));

/** Flatten an error (or any thrown value) for IPC. */
export function toWireError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: `non-Error thrown: ${String(err)}` };
  const e = err as Error & Record<string, unknown>;
  const out: WireError = { name: e.name, message: e.message };
  if (typeof e.stack === 'string') out.stack = e.stack;
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.seconds === 'number') out.seconds = e.seconds;
  if (typeof e.ignoreRetry === 'boolean') out.ignoreRetry = e.ignoreRetry;
  if (typeof e.limitMs === 'number') out.limitMs = e.limitMs;
  if (typeof e.kind === 'string') out.kind = e.kind;
  if (e.details && typeof e.details === 'object') {
    try {
      out.details = structuredClone(e.details as Record<string, unknown>);
    } catch {
      /* details that do not clone are left behind */
    }
  }
  if (e.cause !== undefined && depth < 3) out.cause = toWireError(e.cause, depth + 1);
  return out;
}

/** Rebuild an error: the same Conveyor class when it has a known code, its name, message and stack. */
export function fromWireError(w: WireError): Error {
  const options = { details: w.details, cause: w.cause ? fromWireError(w.cause) : undefined };
  let e: Error;
  if (w.code === 'TIMEOUT') e = new TimeoutError(w.message, w.limitMs ?? 0, options);
  else if (w.code === 'RETRYABLE')
    e = new RetryableJobError(w.message, { ...options, seconds: w.seconds, ignoreRetry: w.ignoreRetry });
  else if (w.code === 'NOTHING_TO_DO') e = new NothingToDoJob(w.message, options);
  else if (w.code !== undefined && CODES.has(w.code)) e = new ConveyorError(w.code as ErrorCode, w.message, options);
  else {
    e = new Error(w.message, options.cause ? { cause: options.cause } : undefined);
    if (w.code !== undefined) (e as Error & { code?: string }).code = w.code;
  }
  e.name = w.name;
  if (w.stack !== undefined) e.stack = w.stack;
  if (w.kind !== undefined) (e as Error & { kind?: string }).kind = w.kind;
  return e;
}

/** Flatten an outcome for IPC. */
export function toWireOutcome(o: Outcome): WireOutcome {
  if (o.kind === 'done') return o;
  return { ...o, error: toWireError(o.error) } as WireOutcome;
}

/** Rebuild an outcome. */
export function fromWireOutcome(o: WireOutcome): Outcome {
  if (o.kind === 'done') return o;
  return { ...o, error: fromWireError(o.error) } as Outcome;
}
