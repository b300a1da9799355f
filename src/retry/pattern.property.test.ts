import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_RETRY_SECONDS, type RetryPattern, retryDelaySeconds, validateRetryPattern } from './pattern.ts';

fc.configureGlobal({ seed: Number(process.env.FAST_CHECK_SEED ?? 42), numRuns: 500 });

const range = fc
  .tuple(fc.nat({ max: 1000 }), fc.nat({ max: 1000 }))
  .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
const value = fc.oneof(fc.nat({ max: 100_000 }), range);
const patternArb = fc
  .dictionary(fc.integer({ min: 1, max: 40 }).map(String), value, { maxKeys: 6 })
  .map((p) => validateRetryPattern(p));
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** The step in force for a try: the value of the largest key <= attempt, if any. */
function stepFor(pattern: RetryPattern, attempt: number): number | readonly [number, number] | undefined {
  const keys = Object.keys(pattern)
    .map(Number)
    .filter((k) => k <= attempt);
  return keys.length === 0 ? undefined : pattern[Math.max(...keys)];
}

describe('retry pattern properties', () => {
  it('is 600 s below the first key', () => {
    fc.assert(
      fc.property(patternArb, fc.integer({ min: 1, max: 50 }), random, (pattern, attempt, r) => {
        const first = Math.min(...Object.keys(pattern).map(Number));
        fc.pre(attempt < first);
        assert.equal(
          retryDelaySeconds(pattern, attempt, () => r),
          DEFAULT_RETRY_SECONDS,
        );
      }),
    );
  });

  it('follows the key steps: the largest key <= attempt decides, and stays until the next key', () => {
    fc.assert(
      fc.property(patternArb, fc.integer({ min: 1, max: 50 }), random, (pattern, attempt, r) => {
        const step = stepFor(pattern, attempt);
        const got = retryDelaySeconds(pattern, attempt, () => r);
        if (step === undefined) assert.equal(got, DEFAULT_RETRY_SECONDS);
        else if (typeof step === 'number') assert.equal(got, step);
        else assert.ok(got >= step[0] && got <= step[1]);
        // Between two keys the delay does not change (with the same random draw).
        const next = Math.min(
          51,
          ...Object.keys(pattern)
            .map(Number)
            .filter((k) => k > attempt),
        );
        for (let a = attempt; a < next; a++)
          assert.equal(
            retryDelaySeconds(pattern, a, () => r),
            got,
          );
      }),
    );
  });

  it('draws whole seconds within [min, max] for any random source value', () => {
    fc.assert(
      fc.property(range, random, fc.integer({ min: 1, max: 9 }), ([min, max], r, attempt) => {
        const pattern = validateRetryPattern({ 1: [min, max] });
        const got = retryDelaySeconds(pattern, attempt, () => r);
        assert.ok(Number.isInteger(got) && got >= min && got <= max, `${got} not in [${min}, ${max}]`);
      }),
    );
  });

  it('reaches both bounds of a range', () => {
    fc.assert(
      fc.property(range, ([min, max]) => {
        const pattern = validateRetryPattern({ 1: [min, max] });
        assert.equal(
          retryDelaySeconds(pattern, 1, () => 0),
          min,
        );
        assert.equal(
          retryDelaySeconds(pattern, 1, () => 1 - Number.EPSILON),
          max,
        );
      }),
    );
  });

  it('validation is idempotent and keeps the values', () => {
    fc.assert(
      fc.property(patternArb, (pattern) => {
        assert.deepEqual(validateRetryPattern(pattern), pattern);
        assert.deepEqual(validateRetryPattern(JSON.stringify(pattern)), pattern);
      }),
    );
  });
});
