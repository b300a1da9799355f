import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, serializeError } from './logger.ts';

function capture(format: 'json' | 'pretty') {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', format, write: (l) => lines.push(l) }) };
}

class CodedError extends Error {
  code = 'E_CODED';
}

describe('logger', () => {
  it("keeps an error's type, message, stack, code and cause in JSON lines (pino's err shape)", () => {
    const { lines, logger } = capture('json');
    const cause = new TypeError('inner');
    const err = new CodedError('outer', { cause });
    logger.error({ jobId: 7, err }, 'it broke');
    const line = JSON.parse(lines[0]!) as Record<string, any>;
    assert.equal(line.msg, 'it broke');
    assert.equal(line.jobId, 7);
    assert.equal(line.err.type, 'CodedError');
    assert.equal(line.err.message, 'outer');
    assert.equal(line.err.code, 'E_CODED');
    assert.equal(line.err.stack, err.stack);
    assert.match(line.err.stack, /Error: outer\n\s+at /);
    assert.equal(line.err.cause.type, 'TypeError');
    assert.equal(line.err.cause.message, 'inner');
    assert.equal(line.err.cause.stack, cause.stack);
  });

  it('takes an error as the first argument as pino does (err field, its message as msg)', () => {
    const { lines, logger } = capture('json');
    const err = new RangeError('out of range');
    logger.warn(err);
    logger.warn(err, 'custom');
    const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(a!.msg, 'out of range');
    assert.equal(a!.err.type, 'RangeError');
    assert.equal(a!.err.stack, err.stack);
    assert.equal(b!.msg, 'custom');
  });

  it('prints the stack under a pretty line', () => {
    const { lines, logger } = capture('pretty');
    const err = new Error('boom');
    logger.error({ err }, 'failed');
    assert.match(lines[0]!, /ERROR failed err=Error: boom\n {4}Error: boom\n {4}\s*at /);
  });

  it('leaves values that are not errors alone', () => {
    assert.equal(serializeError('text'), 'text');
    assert.deepEqual(serializeError({ a: 1 }), { a: 1 });
    const cyclic = new Error('self');
    (cyclic as { cause?: unknown }).cause = cyclic;
    const s = serializeError(cyclic) as Record<string, any>;
    assert.equal(s.cause.cause.cause.cause.cause, 'Error: self'); // bounded depth
  });
});
