import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../errors.ts';
import { decodeJson, encodeJson, toJsonTree } from './json.ts';

fc.configureGlobal({ seed: Number(process.env.FAST_CHECK_SEED ?? 42), numRuns: 500 });

/** The encoding by the full walk alone, or the error it throws. */
function slowEncode(value: unknown): string | ValidationError {
  try {
    return JSON.stringify(toJsonTree(value, 'args'));
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
}

function encode(value: unknown): string | ValidationError {
  try {
    return encodeJson(value, 'args');
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
}

const special = fc.constantFrom('$date', '$bigint', '$esc');
const key = fc.oneof(fc.string({ maxLength: 4 }), special);
/** Values JSON can carry, values that need the extensions, and values that must be refused, mixed. */
const leaf = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -0),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(new Map()),
);
const tree = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 3 }),
})).node;

describe('JSON encoding of job values', () => {
  it('encodes exactly as the full walk does, plain fast path or not, and refuses the same values', () => {
    fc.assert(
      fc.property(tree, (value) => {
        const fast = encode(value);
        const slow = slowEncode(value);
        if (slow instanceof ValidationError) {
          assert.ok(fast instanceof ValidationError, `expected a refusal for ${String(slow.message)}`);
          assert.equal((fast as ValidationError).message, slow.message);
        } else {
          assert.equal(fast, slow);
        }
      }),
    );
  });

  it('round-trips what it accepts, Date and bigint included', () => {
    fc.assert(
      fc.property(tree, (value) => {
        const text = encode(value);
        if (text instanceof ValidationError) return;
        assert.equal(encode(decodeJson(text)), text);
      }),
    );
  });

  it('escapes an object left with one special key once its undefined properties are dropped', () => {
    const text = encodeJson({ $date: 'not a date', other: undefined }, 'args');
    assert.deepEqual(decodeJson(text), { $date: 'not a date' });
  });

  it('refuses holes and undefined in arrays, and cycles, naming the path', () => {
    // eslint-disable-next-line no-sparse-arrays
    // biome-ignore lint/suspicious/noSparseArray: a hole is the bad input under test
    assert.throws(() => encodeJson([1, , 2], 'args'), /args\[1\] must be JSON-serialisable: got undefined/);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.throws(
      () => encodeJson([cyclic], 'args'),
      /args\[0\]\.self must be JSON-serialisable: it refers back to itself/,
    );
  });
});
