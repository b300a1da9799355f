/**
 * Checking option objects: unknown keys are an error, not ignored, with a "did you mean" hint
 * ({@link didYouMean}, also used for unknown job methods).
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The name of `known` closest to `name` (case-insensitive edit distance), when it is close enough to be
 * the one meant (at most 2 edits, or a third of the name's length): the "did you mean" of error messages.
 */
export function didYouMean(name: string, known: readonly string[]): string | null {
  const best = known.map((k) => [k, distance(name, k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(name.length / 3)) ? best[0] : null;
}

/**
 * Throw a {@link ConfigurationError} when `value` is not a plain object or has keys outside `allowed`.
 * @param what names the options in the message (`withDelay() options`).
 */
export function checkOptions(value: unknown, allowed: readonly string[], what: string): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${what}: expected an object, got ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const best = didYouMean(key, allowed);
    const hint = best === null ? '' : ` (did you mean '${best}'?)`;
    throw new ConfigurationError(`${what}: unknown option '${key}'${hint}; expected one of ${allowed.join(', ')}`, {
      details: { option: key },
    });
  }
}

/** Check an integer option. */
export function checkInt(value: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${what}: expected an integer between ${min} and ${max}, got ${describeValue(value)}`);
  }
  return value;
}
