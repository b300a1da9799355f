import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_REGRESSION_MS, uuidv7 } from './uuid.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (u: string) => parseInt(u.replace(/-/g, '').slice(0, 12), 16);

it('makes RFC 9562 version 7 uuids that carry their millisecond and sort by it', () => {
  let base = 2 ** 45; // each run starts well past the last: a step back would keep the last millisecond
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 1, max: 1000 }), (step, d) => {
      base += MAX_REGRESSION_MS + 1 + step;
      const t = base;
      const a = uuidv7(t);
      assert.equal(msOf(a), t);
      const b = uuidv7(t + d);
      assert.match(a, V7);
      assert.match(b, V7);
      assert.equal(msOf(b), t + d);
      assert.ok(a < b);
    }),
    { seed: 42 },
  );
});

it('10k uuids made in a tight loop increase strictly (same-millisecond counter)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.boolean(), (t, fixed) => {
      let prev = uuidv7(fixed ? t : undefined);
      for (let i = 0; i < 10_000; i++) {
        const u = uuidv7(fixed ? t : undefined);
        assert.ok(u > prev, `${u} > ${prev}`);
        prev = u;
      }
    }),
    { seed: 7, numRuns: 20 },
  );
});

it('keeps increasing when the clock steps back a little, and follows a large step back', () => {
  const t = 2 ** 46;
  const a = uuidv7(t);
  const b = uuidv7(t - MAX_REGRESSION_MS);
  assert.ok(b > a);
  assert.equal(msOf(b), t);
  const c = uuidv7(t - MAX_REGRESSION_MS - 5_000);
  assert.equal(msOf(c), t - MAX_REGRESSION_MS - 5_000);
  assert.match(c, V7);
});
