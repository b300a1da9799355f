import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors.ts';
import { DEFAULT_RETRY_SECONDS, retryDelaySeconds, validateRetryPattern } from './pattern.ts';

describe('retryDelaySeconds (queue_job §6.4 worked examples)', () => {
  const table: [pattern: Record<number, number>, attempts: number[], seconds: number][] = [
    [{ 1: 60, 2: 180, 3: 10, 5: 300 }, [1], 60],
    [{ 1: 60, 2: 180, 3: 10, 5: 300 }, [2], 180],
    [{ 1: 60, 2: 180, 3: 10, 5: 300 }, [3, 4], 10],
    [{ 1: 60, 2: 180, 3: 10, 5: 300 }, [5, 6, 50], 300],
    [{ 3: 180 }, [1, 2], 600],
    [{ 3: 180 }, [3, 4, 99], 180],
    [{ 1: 10, 5: 20, 10: 30, 15: 300 }, [1, 2, 3, 4], 10],
    [{ 1: 10, 5: 20, 10: 30, 15: 300 }, [5, 6, 7, 8, 9], 20],
    [{ 1: 10, 5: 20, 10: 30, 15: 300 }, [10, 11, 12, 13, 14], 30],
    [{ 1: 10, 5: 20, 10: 30, 15: 300 }, [15, 16, 1000], 300],
    [{}, [1, 5], 600],
    [{ 2: 0 }, [2], 0],
  ];
  for (const [pattern, attempts, seconds] of table) {
    for (const attempt of attempts) {
      it(`${JSON.stringify(pattern)} try ${attempt} -> ${seconds} s`, () => {
        assert.equal(retryDelaySeconds(validateRetryPattern(pattern), attempt), seconds);
      });
    }
  }

  it('uses 600 s without a pattern', () => {
    assert.equal(DEFAULT_RETRY_SECONDS, 600);
    assert.equal(retryDelaySeconds(null, 3), 600);
    assert.equal(retryDelaySeconds(undefined, 1), 600);
  });

  it('does not depend on the order the keys were written in', () => {
    const pattern = validateRetryPattern({ 10: 30, 1: 10, 15: 300, 5: 20 });
    assert.deepEqual(
      [1, 4, 5, 9, 10, 15].map((a) => retryDelaySeconds(pattern, a)),
      [10, 10, 20, 20, 30, 300],
    );
  });

  it('draws [min, max] uniformly as whole seconds, bounds included', () => {
    const pattern = validateRetryPattern({ 1: [10, 20], 3: [5, 5] });
    assert.equal(
      retryDelaySeconds(pattern, 1, () => 0),
      10,
    );
    assert.equal(
      retryDelaySeconds(pattern, 1, () => 0.999_999_9),
      20,
    );
    assert.equal(
      retryDelaySeconds(pattern, 2, () => 0.5),
      15,
    );
    assert.equal(
      retryDelaySeconds(pattern, 1, () => 1),
      20,
    ); // a bad source never escapes the range
    assert.equal(
      retryDelaySeconds(pattern, 3, () => 0.7),
      5,
    );
  });
});

describe('validateRetryPattern', () => {
  it('accepts JSON-ish string keys and JSON text, and returns a frozen copy', () => {
    const input = { '1': 10, ' 5 ': [20, 40] };
    const pattern = validateRetryPattern(input);
    assert.deepEqual(pattern, { 1: 10, 5: [20, 40] });
    assert.ok(Object.isFrozen(pattern));
    assert.notEqual(pattern, input);
    assert.deepEqual(validateRetryPattern('{"1": 10, "5": [20, 40]}'), { 1: 10, 5: [20, 40] });
    assert.deepEqual(validateRetryPattern({}), {});
  });

  const bad: [unknown, string][] = [
    [{ x: 10 }, "retryPattern key 'x' must be an integer >= 1"],
    [{ 0: 10 }, "retryPattern key '0' must be an integer >= 1"],
    [{ '-1': 10 }, "retryPattern key '-1' must be an integer >= 1"],
    [{ '1.5': 10 }, "retryPattern key '1.5' must be an integer >= 1"],
    [{ '': 10 }, "retryPattern key '' must be an integer >= 1"],
    [{ '1': 5, ' 1': 6 }, "retryPattern key ' 1' is given twice"],
    [{ 1: -1 }, 'retryPattern value for key 1 must be seconds >= 0 or [min, max], got -1 (number)'],
    [{ 1: Number.NaN }, 'retryPattern value for key 1 must be seconds >= 0'],
    [{ 1: Infinity }, 'retryPattern value for key 1 must be seconds >= 0'],
    [{ 2: '10' }, "retryPattern value for key 2 must be seconds >= 0 or [min, max], got '10' (string)"],
    [{ 2: null }, 'retryPattern value for key 2 must be seconds >= 0 or [min, max], got null'],
    [{ 3: [1] }, 'retryPattern value for key 3 must be [min, max]'],
    [{ 3: [1, 2, 3] }, 'retryPattern value for key 3 must be [min, max]'],
    [
      { 3: [5, 2] },
      'retryPattern value for key 3 must be [min, max] with whole seconds 0 <= min <= max, got [5 (number), 2 (number)]',
    ],
    [{ 3: [1.5, 3] }, 'retryPattern value for key 3 must be [min, max]'],
    [{ 3: [-1, 3] }, 'retryPattern value for key 3 must be [min, max]'],
    [{ 3: ['1', 3] }, 'retryPattern value for key 3 must be [min, max]'],
    [null, 'retryPattern must be an object like { 1: 10, 5: 60 }, got null'],
    [undefined, 'retryPattern must be an object'],
    [[10, 20], 'retryPattern must be an object like { 1: 10, 5: 60 }, got an array'],
    [42, 'retryPattern must be an object'],
    [new Map([[1, 10]]), 'retryPattern must be an object'],
    ['{1: 10}', 'or its JSON text'],
  ];
  for (const [value, message] of bad) {
    it(`rejects ${typeof value === 'object' && value !== null && !(value instanceof Map) ? JSON.stringify(value) : String(value)}`, () => {
      assert.throws(
        () => validateRetryPattern(value),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError, String(err));
          assert.equal(err.code, 'VALIDATION');
          assert.ok(err.message.includes(message), `${err.message} should contain ${message}`);
          return true;
        },
      );
    });
  }

  it('names the setting it checks and the path of the bad key', () => {
    assert.throws(
      () => validateRetryPattern({ y: 1 }, 'functions.sendNewsletter.retryPattern'),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /^functions\.sendNewsletter\.retryPattern key 'y' must be an integer >= 1$/);
        assert.equal(err.details['path'], 'functions.sendNewsletter.retryPattern.y');
        return true;
      },
    );
  });
});
