/**
 * Durations: milliseconds as numbers, or strings like `'90s'`, `'5m'`, `'1h'`, `'2d'`, `'1w'`, `'250ms'`.
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/;

/** A duration: milliseconds, or a string such as `'5m'`. */
export type Duration = number | string;

/**
 * Parse a duration into milliseconds.
 * @param what names the setting in the error message.
 * @throws ConfigurationError when the value is not a non-negative number or a `<n><unit>` string.
 */
export function parseDuration(value: Duration, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'string') {
    const m = PATTERN.exec(value);
    if (m) return Math.round(Number(m[1]) * UNITS[m[2]!]!);
    if (/^\s*\d+\s*$/.test(value)) return Number(value);
  }
  throw new ConfigurationError(
    `invalid ${what}: expected milliseconds (a number >= 0) or a string like '90s', '5m', '1h', '2d', got ${describeValue(value)}`,
    { details: { what } },
  );
}
