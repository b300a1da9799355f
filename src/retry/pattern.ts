/**
 * Retry patterns (queue_job's `retry_pattern`): how long to wait before the next try, by try number.
 * `{ 1: 10, 5: 20, 10: 30, 15: 300 }` waits 10 s after tries 1–4, 20 s after 5–9, 30 s after 10–14,
 * 300 s from 15 on; `[min, max]` instead of seconds draws a random whole delay in that range.
 * @module
 */
import { describeValue, ValidationError } from '../errors.ts';

/** `{ fromTry: seconds }` or `{ fromTry: [minSeconds, maxSeconds] }`; keys are try numbers >= 1. */
export type RetryPattern = Readonly<Record<number, number | readonly [number, number]>>;

/** The delay when neither the error nor the function's pattern gives one: 10 minutes, as queue_job. */
export const DEFAULT_RETRY_SECONDS = 600;

const KEY = /^\d+$/;

function fail(message: string, what: string, key?: string): never {
  throw new ValidationError(message, { details: key === undefined ? { path: what } : { path: `${what}.${key}`, key } });
}

/**
 * Check a retry pattern and return a frozen copy with numeric-string keys (`{ '1': 10 }`).
 * Accepts an object whose keys are try numbers as strings (as JSON gives them, surrounding spaces
 * allowed) or a JSON string of such an object. Values are seconds (a finite number >= 0) or a
 * `[min, max]` pair of whole seconds with `0 <= min <= max`.
 * @param what names the setting in error messages (default `'retryPattern'`).
 * @throws ValidationError naming the bad key or value ("retryPattern key 'x' must be an integer >= 1").
 */
export function validateRetryPattern(value: unknown, what = 'retryPattern'): RetryPattern {
  let pattern = value;
  if (typeof pattern === 'string') {
    try {
      pattern = JSON.parse(pattern);
    } catch {
      fail(`${what} must be an object like { 1: 10, 5: 60 } or its JSON text, got ${describeValue(value)}`, what);
    }
  }
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern) || pattern instanceof Map) {
    fail(`${what} must be an object like { 1: 10, 5: 60 }, got ${describeValue(value)}`, what);
  }
  const out: Record<number, number | readonly [number, number]> = {};
  for (const [rawKey, entry] of Object.entries(pattern as Record<string, unknown>)) {
    const key = rawKey.trim();
    const tries = Number(key);
    if (!KEY.test(key) || !Number.isSafeInteger(tries) || tries < 1) {
      fail(`${what} key '${rawKey}' must be an integer >= 1`, what, rawKey);
    }
    if (Object.hasOwn(out, tries)) fail(`${what} key '${rawKey}' is given twice`, what, rawKey);
    if (typeof entry === 'number') {
      if (!Number.isFinite(entry) || entry < 0) {
        fail(
          `${what} value for key ${tries} must be seconds >= 0 or [min, max], got ${describeValue(entry)}`,
          what,
          rawKey,
        );
      }
      out[tries] = entry;
    } else if (Array.isArray(entry)) {
      const [min, max] = entry as unknown[];
      if (
        entry.length !== 2 ||
        typeof min !== 'number' ||
        typeof max !== 'number' ||
        !Number.isSafeInteger(min) ||
        !Number.isSafeInteger(max) ||
        min < 0 ||
        min > max
      ) {
        fail(
          `${what} value for key ${tries} must be [min, max] with whole seconds 0 <= min <= max, got [${entry.map((x) => describeValue(x)).join(', ')}]`,
          what,
          rawKey,
        );
      }
      out[tries] = Object.freeze([min, max] as const);
    } else {
      fail(
        `${what} value for key ${tries} must be seconds >= 0 or [min, max], got ${describeValue(entry)}`,
        what,
        rawKey,
      );
    }
  }
  return Object.freeze(out);
}

/** Sorted steps per pattern object (patterns are immutable config: computed once). */
const steps = new WeakMap<object, readonly (readonly [number, number | readonly [number, number]])[]>();

function stepsOf(pattern: RetryPattern) {
  let sorted = steps.get(pattern);
  if (sorted === undefined) {
    sorted = Object.entries(pattern)
      .map(([key, value]) => [Number(key), value] as const)
      .sort((a, b) => a[0] - b[0]);
    steps.set(pattern, sorted);
  }
  return sorted;
}

/**
 * Seconds to wait before the next try after try number `attempt` failed (queue_job's `_get_retry_seconds`):
 * walk the keys ascending starting from {@link DEFAULT_RETRY_SECONDS}, take each key's value while
 * `attempt >= key`; a `[min, max]` value draws a uniform whole number in `[min, max]`.
 * With no pattern, or below its first key, the delay is 600 s.
 * @param attempt the try that just failed, from 1 (`job.attempt`).
 * @param random a `[0, 1)` source, injectable for tests.
 * @example retryDelaySeconds({ 1: 60, 2: 180, 3: 10, 5: 300 }, 4) // 10
 */
export function retryDelaySeconds(
  pattern: RetryPattern | null | undefined,
  attempt: number,
  random: () => number = Math.random,
): number {
  if (pattern === null || pattern === undefined) return DEFAULT_RETRY_SECONDS;
  let value: number | readonly [number, number] = DEFAULT_RETRY_SECONDS;
  for (const [tries, seconds] of stepsOf(pattern)) {
    if (attempt >= tries) value = seconds;
    else break;
  }
  if (typeof value === 'number') return value;
  const [min, max] = value;
  return Math.min(max, min + Math.floor(random() * (max - min + 1)));
}
