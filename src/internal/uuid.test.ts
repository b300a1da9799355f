import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { uuidv7 } from './uuid.ts';

it('makes RFC 9562 version 7 uuids that sort by their millisecond', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1001 }), fc.integer({ min: 1, max: 1000 }), (t, d) => {
    const a = uuidv7(t);
    const b = uuidv7(t + d);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(a.replace(/-/g, '').slice(0, 12), 16), t);
    assert.ok(a < b);
  }), { seed: 42 });
  assert.equal(new Set(Array.from({ length: 10_000 }, () => uuidv7(1))).size, 10_000);
});
