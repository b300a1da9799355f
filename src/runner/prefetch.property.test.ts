/**
 * The adaptive prefetch rule (prefetch.ts), property-tested: its bounds, and that it moves the right way
 * when jobs get longer or claims slower.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AdaptivePrefetch } from './prefetch.ts';

type Obs = { kind: 'run'; ms: number } | { kind: 'claim'; ms: number; left: number } | { kind: 'starved' };

const obs: fc.Arbitrary<Obs> = fc.oneof(
  fc.record({ kind: fc.constant('run' as const), ms: fc.double({ min: 0, max: 10_000, noNaN: true }) }),
  fc.record({
    kind: fc.constant('claim' as const),
    ms: fc.double({ min: 0, max: 1_000, noNaN: true }),
    left: fc.nat(600),
  }),
  fc.record({ kind: fc.constant('starved' as const) }),
);

function feed(p: AdaptivePrefetch, list: readonly Obs[], scaleRun = 1, scaleClaim = 1): AdaptivePrefetch {
  for (const o of list) {
    if (o.kind === 'run') p.observeRun(o.ms * scaleRun);
    else if (o.kind === 'claim') p.observeClaim(o.ms * scaleClaim, o.left);
    else p.observeStarved();
  }
  return p;
}

const settings = fc.record({
  workers: fc.integer({ min: 1, max: 256 }),
  maxBufferedWorkMs: fc.integer({ min: 1, max: 500 }),
  max: fc.integer({ min: 0, max: 2000 }),
});

describe('adaptive prefetch', () => {
  it('starts at one job per slot, and always stays within [0, max] and within maxBufferedWorkMs of work', () => {
    fc.assert(
      fc.property(settings, fc.array(obs, { maxLength: 60 }), (o, list) => {
        const p = new AdaptivePrefetch(o);
        assert.equal(p.target, Math.min(o.workers, o.max));
        feed(p, list);
        const t = p.target;
        assert.ok(Number.isInteger(t) && t >= 0 && t <= o.max, `target ${t}`);
        if (p.runMs !== null && p.claimMs !== null) {
          // the buffer holds at most maxBufferedWorkMs of this runner's time
          assert.ok(
            (t * p.runMs) / o.workers <= o.maxBufferedWorkMs + 1e-9,
            `target ${t} holds ${(t * p.runMs) / o.workers} ms of work`,
          );
        }
        assert.ok(p.gain >= 1 && p.gain <= 8);
      }),
      { numRuns: 500 },
    );
  });

  it('never grows when every job takes longer, never shrinks when every claim takes longer', () => {
    fc.assert(
      fc.property(
        settings,
        fc.array(obs, { maxLength: 60 }),
        fc.double({ min: 1, max: 100, noNaN: true }),
        (o, list, k) => {
          const base = feed(new AdaptivePrefetch(o), list).target;
          assert.ok(feed(new AdaptivePrefetch(o), list, k, 1).target <= base, 'longer jobs, bigger buffer');
          assert.ok(feed(new AdaptivePrefetch(o), list, 1, k).target >= base, 'slower claims, smaller buffer');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('grows when slots starve and shrinks back when claims return to a buffer that still holds jobs', () => {
    const p = new AdaptivePrefetch({ workers: 8 });
    p.observeRun(1);
    p.observeClaim(2, 0);
    const before = p.target; // 8 jobs/ms × 2 ms × gain 2
    assert.equal(before, 32);
    p.observeStarved();
    assert.ok(p.target > before);
    for (let i = 0; i < 100; i++) p.observeClaim(2, 5);
    assert.equal(p.gain, 1);
    assert.equal(p.target, 16);
  });

  it('holds a few jobs at most for long jobs, and the full batch for tiny ones', () => {
    const long = new AdaptivePrefetch({ workers: 2 });
    long.observeRun(30);
    long.observeClaim(3, 0);
    assert.equal(long.target, 2); // 2/30 jobs per ms: max(2 slots, ceil(0.0667 × 3 × 2) = 1) = 2, cap floor(3.33) = 3
    const tiny = new AdaptivePrefetch({ workers: 16 });
    tiny.observeRun(0.02);
    tiny.observeClaim(2, 0);
    assert.equal(tiny.target, 500);
  });
});
