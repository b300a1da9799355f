/**
 * Errors of Conveyor. Every error the library throws on purpose is a {@link ConveyorError} with a
 * stable `code`, so callers can branch on `err.code` instead of matching messages.
 * Messages say what was expected and what arrived, and never contain SQL, bound values or secrets.
 * @module
 */

/** Every error code Conveyor uses, as a const map (`ErrorCodes.VALIDATION === 'VALIDATION'`). */
export const ErrorCodes = {
  CONFIGURATION: 'CONFIGURATION',
  CHANNEL_CONFIG: 'CHANNEL_CONFIG',
  VALIDATION: 'VALIDATION',
  UNKNOWN_MODEL: 'UNKNOWN_MODEL',
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  DATABASE: 'DATABASE',
  MIGRATION: 'MIGRATION',
  SCHEMA_TOO_NEW: 'SCHEMA_TOO_NEW',
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  INVALID_STATE: 'INVALID_STATE',
  RETRYABLE: 'RETRYABLE',
  NOTHING_TO_DO: 'NOTHING_TO_DO',
  FAILED_JOB: 'FAILED_JOB',
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  GRAPH: 'GRAPH',
  CLOSED: 'CLOSED',
  TRANSACTION_SCOPE: 'TRANSACTION_SCOPE',
  JOB_LEASE_LOST: 'JOB_LEASE_LOST',
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
  DATABASE_NOT_FOUND: 'DATABASE_NOT_FOUND',
  UNKNOWN_CHANNEL: 'UNKNOWN_CHANNEL',
} as const;

/** A Conveyor error code. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options accepted by every Conveyor error. */
export interface ConveyorErrorOptions {
  /** The underlying error, kept as the native `cause`. */
  cause?: unknown;
  /** Secret-free structured details (a path, an entry, a state). */
  details?: Record<string, unknown>;
}

/** The base class of every error Conveyor throws on purpose. */
export class ConveyorError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Secret-free details about what was wrong. */
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, options: ConveyorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.name = new.target.name;
  }
}

/** Wrong options or settings (unknown option, bad duration, bad URL…). */
export class ConfigurationError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('CONFIGURATION', message, options);
  }
}

/** A channel configuration string could not be parsed ("invalid capacity 'x' in 'root.mail:x'"). */
export class ChannelConfigError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('CHANNEL_CONFIG', message, options);
  }
}

/** A value handed to Conveyor (arguments, records, a result) is not acceptable; `details.path` names where. */
export class ValidationError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('VALIDATION', message, options);
  }
}

/** No model of that name is defined on this Conveyor. */
export class UnknownModelError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('UNKNOWN_MODEL', message, options);
  }
}

/** The model has no method of that name. */
export class UnknownMethodError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('UNKNOWN_METHOD', message, options);
  }
}

/** A job's channel is not in the channel configuration (`unknownChannels: 'error'`); `details.channel` names it. */
export class UnknownChannelError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('UNKNOWN_CHANNEL', message, options);
  }
}

/**
 * The database holds no Conveyor schema (a SQLite file that does not exist, a PostgreSQL schema never
 * created) and the caller asked not to create one (`Conveyor.open({ create: false })`, the CLI's read-only commands).
 */
export class DatabaseNotFoundError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('DATABASE_NOT_FOUND', message, options);
  }
}

/** The database could not be opened or a statement failed; `details.operation` names the driver verb. */
export class DatabaseError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('DATABASE', message, options);
  }
}

/** A schema migration failed. */
export class MigrationError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('MIGRATION', message, options);
  }
}

/** The database was written by a newer Conveyor; this version refuses to touch it. */
export class SchemaTooNewError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('SCHEMA_TOO_NEW', message, options);
  }
}

/** No job with that id or uuid exists. */
export class JobNotFoundError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('JOB_NOT_FOUND', message, options);
  }
}

/** The requested change is not allowed in the job's current state. */
export class InvalidStateError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('INVALID_STATE', message, options);
  }
}

/** A dependency graph is malformed (cycle, two graphs merged, delay() not on the top). */
export class GraphError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('GRAPH', message, options);
  }
}

/** The Conveyor (or its runner) was closed. */
export class ClosedError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('CLOSED', message, options);
  }
}

/** Synchronous SQLite work was attempted across an `await`. */
export class TransactionScopeError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('TRANSACTION_SCOPE', message, options);
  }
}

/**
 * `job.transaction()` found the job no longer held by this run (its lease expired and it was rescued,
 * it was cancelled, requeued or set done by hand…): the transaction was rolled back, its writes never
 * committed. `details` holds `jobId`, `attempt` and `runnerId`.
 */
export class JobLeaseLostError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('JOB_LEASE_LOST', message, options);
  }
}

/** An operation ran past its time limit. */
export class TimeoutError extends ConveyorError {
  /** The limit that was exceeded, in milliseconds. */
  readonly limitMs: number;
  constructor(message: string, limitMs: number, options?: ConveyorErrorOptions) {
    super('TIMEOUT', message, options);
    this.limitMs = limitMs;
  }
}

/** `job.wait()` / `jobs.wait()` gave up: the job did not reach a final state within `timeoutMs`. */
export class WaitTimeoutError extends ConveyorError {
  /** The job waited for. */
  readonly jobId: number;
  /** The `timeoutMs` that ran out. */
  readonly timeoutMs: number;
  constructor(message: string, jobId: number, timeoutMs: number, options?: ConveyorErrorOptions) {
    super('WAIT_TIMEOUT', message, options);
    this.jobId = jobId;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Throw from a job to have it retried later (queue_job's `RetryableJobError`).
 * `seconds` overrides the retry pattern; `0` retries at once. `ignoreRetry` does not count the try.
 * @example throw new RetryableJobError('API rate limited', { seconds: 30 })
 */
export class RetryableJobError extends ConveyorError {
  /** Delay before the next try, in seconds, when set. */
  readonly seconds: number | undefined;
  /** When true, this try does not count against `maxRetries`. */
  readonly ignoreRetry: boolean;
  constructor(message: string, options: ConveyorErrorOptions & { seconds?: number; ignoreRetry?: boolean } = {}) {
    super('RETRYABLE', message, options);
    if (options.seconds !== undefined && (!Number.isFinite(options.seconds) || options.seconds < 0)) {
      throw new ValidationError(
        `RetryableJobError: expected 'seconds' to be a number >= 0, got ${String(options.seconds)}`,
      );
    }
    this.seconds = options.seconds;
    this.ignoreRetry = options.ignoreRetry ?? false;
  }
}

/** Throw from a job to end it as `done` without a result (queue_job's `NothingToDoJob`). */
export class NothingToDoJob extends ConveyorError {
  constructor(message = 'Job interrupted and set to Done: nothing to do.', options?: ConveyorErrorOptions) {
    super('NOTHING_TO_DO', message, options);
  }
}

/** The job ran out of retries; wraps the last error as `cause`. */
export class FailedJobError extends ConveyorError {
  constructor(message: string, options?: ConveyorErrorOptions) {
    super('FAILED_JOB', message, options);
  }
}

/** Describe a value for an error message: `'x' (string)`, `12 (number)`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value.length > 60 ? value.slice(0, 57) + '...' : value}' (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${String(value)} (${typeof value})`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  const ctor = (value as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
}

/** `value` as an Error: itself when it is one, else an Error of its text (a thrown string, an abort reason…). */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
