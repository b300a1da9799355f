import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError } from '../errors.ts';
import { bindTimeouts } from './bind.ts';
import { captureLogger, memorySink } from './fixtures.test.ts';
import * as barrel from './index.ts';

test('bindTimeouts fills the sink and logger into every helper; per-call options win', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  const other = memorySink();
  const logger = captureLogger();
  const timeouts = bindTimeouts({ conveyor: sink, logger, name: 'ignored' });
  const p = timeouts.withTimeout(10, () => new Promise(() => {}), { name: 'bound' });
  t.mock.timers.tick(10);
  await assert.rejects(p, TimeoutError);
  const q = timeouts.timeoutContext(10, 'override', () => new Promise(() => {}), { conveyor: other });
  t.mock.timers.tick(10);
  await assert.rejects(q, TimeoutError);
  const slow = timeouts.monitored(
    function step() {
      t.mock.timers.tick(5);
    },
    { threshold: 1 },
  );
  slow();
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.kind]),
    [
      ['bound', 'timeout'],
      ['step', 'monitor'],
    ],
  );
  assert.deepEqual(
    other.rows.map((r) => r.operation),
    ['override'],
  );
  assert.equal(logger.messages('warn').length, 3);
  const op = timeouts.asyncOperation(
    async () => {
      throw new Error('x');
    },
    { name: 'bg' },
  );
  await op.done;
  assert.deepEqual(
    sink.operationErrors.map((e) => e.operation),
    ['bg'],
  );
  const progress = timeouts.progressTracker({ total: 1, clock: () => 0, stream: { write: () => true } });
  progress.finish();
  assert.match(logger.messages('info').at(-1)!, /^Progress: done 0\/1 /);
});

test('the barrel exports the whole toolkit', () => {
  for (const name of [
    'withTimeout',
    'timeout',
    'withTimeoutDecorator',
    'timeoutContext',
    'timeoutScope',
    'retryOnTimeout',
    'retryOnTimeoutDecorator',
    'backoffDelay',
    'monitored',
    'monitoredDecorator',
    'batchProcess',
    'BatchProcessor',
    'asyncOperation',
    'ProgressTracker',
    'bindTimeouts',
    'currentTimeoutSignal',
    'TimeoutError',
  ]) {
    assert.equal(typeof (barrel as Record<string, unknown>)[name], 'function', name);
  }
  assert.equal(typeof barrel.withTimeout.wrap, 'function');
});
