import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NothingToDoJob, RetryableJobError, TimeoutError } from '../errors.ts';
import { decideFailure } from './outcome.ts';

const base = { attempt: 1, maxRetries: 5, retryPattern: null, retryOnTimeout: true, random: () => 0 };

describe('decideFailure (pure)', () => {
  it('maps each kind of error to what happens to the job', () => {
    assert.deepEqual(decideFailure(new NothingToDoJob('synced'), base), { kind: 'done', result: 'synced' });
    const r = decideFailure(new RetryableJobError('later', { seconds: 30 }), base);
    assert.equal(r.kind, 'retry');
    assert.equal(r.kind === 'retry' && r.delayMs, 30_000);
    assert.equal(
      decideFailure(new RetryableJobError('later'), base).kind === 'retry' &&
        (decideFailure(new RetryableJobError('later'), base) as { delayMs: number }).delayMs,
      600_000,
    );
    assert.deepEqual(decideFailure(new TypeError('bad'), base).kind, 'failed');
    assert.equal(decideFailure(new TimeoutError('slow', 10), { ...base, retryOnTimeout: false }).kind, 'failed');
    const c = decideFailure(Object.assign(new Error('could not serialize access'), { code: '40001' }), {
      ...base,
      attempt: 5,
    });
    assert.deepEqual(c.kind === 'retry' && [c.delayMs, c.countTry, c.reason], [5000, false, 'concurrency']);
    assert.equal(decideFailure('a string', base).kind, 'failed');
  });

  it('runs at most maxRetries times in all (0 = infinite), for retryable errors and timeouts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        (maxRetries, attempt, timeout) => {
          const err = timeout ? new TimeoutError('t', 1) : new RetryableJobError('r', { seconds: 1 });
          const out = decideFailure(err, { ...base, maxRetries, attempt });
          const exhausted = maxRetries !== 0 && attempt >= maxRetries;
          assert.equal(out.kind, exhausted ? 'failed' : 'retry');
          if (out.kind === 'failed') assert.equal(out.reason, 'max_retries');
        },
      ),
      { seed: 42 },
    );
  });

  it('does not count a try given back by ignoreRetry', () => {
    const out = decideFailure(new RetryableJobError('x', { seconds: 0, ignoreRetry: true }), { ...base, attempt: 99 });
    assert.deepEqual(out.kind === 'retry' && [out.countTry, out.delayMs], [false, 0]);
  });
});
