/**
 * Turning how a job method ended (returned, threw) into what happens to the job (pure).
 * @module
 */
import { NothingToDoJob, RetryableJobError, TimeoutError } from '../errors.ts';
import { retryDelaySeconds, type RetryPattern } from '../retry/pattern.ts';

/** What happens to a job after one run. */
export type Outcome =
  | { kind: 'done'; result: unknown }
  | { kind: 'retry'; delayMs: number; countTry: boolean; reason: 'retryable' | 'timeout' | 'concurrency'; error: Error }
  | { kind: 'failed'; reason: 'error' | 'max_retries' | 'timeout' | 'setup'; error: Error };

/** PostgreSQL errors that mean "try again": serialization failure, deadlock, lock not available. */
const CONCURRENCY_CODES = new Set(['40001', '40P01', '55P03']);

/** Inputs of {@link decideFailure}. */
export interface OutcomeInput {
  /** The run's number (1 = first run). */
  attempt: number;
  /** 0 = infinite. */
  maxRetries: number;
  retryPattern: RetryPattern | null;
  retryOnTimeout: boolean;
  random?: () => number;
}

/** Decide what a thrown value means. */
export function decideFailure(err: unknown, input: OutcomeInput): Outcome {
  const error = err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`);
  if (error instanceof NothingToDoJob) return { kind: 'done', result: error.message };
  const exhausted = input.maxRetries !== 0 && input.attempt >= input.maxRetries;
  const code = (error as unknown as { code?: unknown }).code;
  if (typeof code === 'string' && CONCURRENCY_CODES.has(code)) {
    return { kind: 'retry', delayMs: 5_000, countTry: false, reason: 'concurrency', error };
  }
  if (error instanceof TimeoutError) {
    if (!input.retryOnTimeout) return { kind: 'failed', reason: 'timeout', error };
    if (exhausted) return { kind: 'failed', reason: 'max_retries', error };
    return {
      kind: 'retry',
      delayMs: retryDelaySeconds(input.retryPattern, input.attempt, input.random) * 1000,
      countTry: true,
      reason: 'timeout',
      error,
    };
  }
  if (error instanceof RetryableJobError) {
    if (error.ignoreRetry) {
      return {
        kind: 'retry',
        delayMs: (error.seconds ?? retryDelaySeconds(input.retryPattern, input.attempt, input.random)) * 1000,
        countTry: false,
        reason: 'retryable',
        error,
      };
    }
    if (exhausted) return { kind: 'failed', reason: 'max_retries', error };
    const seconds = error.seconds ?? retryDelaySeconds(input.retryPattern, input.attempt, input.random);
    return { kind: 'retry', delayMs: seconds * 1000, countTry: true, reason: 'retryable', error };
  }
  return { kind: 'failed', reason: 'error', error };
}
